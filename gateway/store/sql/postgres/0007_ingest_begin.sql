-- The start of an ingest batch in one round trip (postgres_ingest): take the advisory lock
-- of every leg key in key order (two batches never deadlock), draw the leg ids and
-- notification seqs once all are held (a shipment's seq order is its commit order), read
-- the orgs' endpoints, then read and row-lock the legs the keys name, in id order. That
-- read is a statement of its own after the locks: in READ COMMITTED each statement of a
-- function takes a new snapshot, so it sees every leg that the lock's last holder committed.
CREATE FUNCTION gateway_ingest_begin(
    lock_ids bigint[], leg_count integer, note_count integer, orgs text[],
    key_orgs text[], key_types text[], key_names text[],
    OUT leg_ids bigint[], OUT seqs bigint[], OUT endpoint_rows text,
    OUT found_orgs text[], OUT found_types text[], OUT found_keys text[], OUT found_legs bigint[],
    OUT awbs text[], OUT forward_awbs text[], OUT return_order_ids text[], OUT terminals boolean[],
    OUT newest_times double precision[]
) LANGUAGE plpgsql AS $$
DECLARE
    lock_id bigint;
BEGIN
    FOR lock_id IN SELECT DISTINCT k FROM unnest(lock_ids) AS k ORDER BY k LOOP
        PERFORM pg_advisory_xact_lock(lock_id);
    END LOOP;
    leg_ids := ARRAY(SELECT nextval('legs_id_seq') FROM generate_series(1, leg_count));
    seqs := ARRAY(SELECT nextval('notifications_seq_seq') FROM generate_series(1, note_count));
    endpoint_rows := (SELECT json_agg(json_build_array(e.org, e.name, e.version, e.config, e.disabled)
                                  ORDER BY e.org, e.name)
                  FROM endpoints e WHERE e.org = ANY(orgs) AND NOT e.deleted)::text;
    SELECT array_agg(f.org), array_agg(f.shipment_type), array_agg(f.key), array_agg(f.id), array_agg(f.awb),
           array_agg(f.forward_awb), array_agg(f.return_order_id), array_agg(f.terminal),
           array_agg(f.newest_time)
    INTO found_orgs, found_types, found_keys, found_legs, awbs, forward_awbs, return_order_ids, terminals,
         newest_times
    FROM (SELECT k.org, k.shipment_type, k.key, l.id, l.awb, l.forward_awb, l.return_order_id, l.terminal,
                 l.newest_time
          FROM leg_keys k JOIN legs l ON l.id = k.leg_id
          WHERE (k.org, k.shipment_type, k.key) IN (SELECT * FROM unnest(key_orgs, key_types, key_names))
          ORDER BY l.id
          FOR UPDATE OF l) AS f;
END
$$;
