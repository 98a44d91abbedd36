-- herald schema, migration 6: recording 'delivered' outcomes by the batch.
--
-- Nearly every outcome is 'delivered', and hd_finish_delivery costs one procedure call
-- (a locking read, an update, an insert) per delivery: at thousands of deliveries a
-- second that was most of a worker's time (docs/performance.md, Delivery). This takes
-- a whole batch of them as one JSON array and does the same with three set-based
-- statements. Other outcomes keep going through hd_finish_delivery.

DELIMITER //

-- hd_finish_delivered: p_batch is a JSON array of [delivery id, owner, provider status]
-- triples, each a delivery its worker (owner) found delivered. Those still 'sending'
-- under their owner become 'delivered' (status stored, reason cleared, lease released)
-- and get their attempt recorded as in hd_finish_delivery; the others were lost to a
-- lease takeover and do not change. Runs in the caller's transaction. Returns one row
-- per delivery recorded: delivery_id.
CREATE OR REPLACE PROCEDURE hd_finish_delivered(IN p_batch LONGTEXT)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);

  IF p_batch IS NULL OR NOT JSON_VALID(p_batch) OR JSON_TYPE(p_batch) <> 'ARRAY' THEN
    CALL hd_internal_fail('hd_finish_delivered: the batch must be a JSON array');
  END IF;
  CREATE TEMPORARY TABLE IF NOT EXISTS hd_delivered_batch (
    id        BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    status    SMALLINT NULL,
    attempt   INT UNSIGNED NOT NULL,
    started   DATETIME(6) NULL
  ) ENGINE=MEMORY;
  DELETE FROM hd_delivered_batch;
  -- The rows are locked first, so no claim can take one over between this read and
  -- the update below.
  INSERT IGNORE INTO hd_delivered_batch (id, status, attempt, started)
    SELECT d.id, IF(j.status BETWEEN 0 AND 999, j.status, NULL), d.attempts, d.last_attempt_at
      FROM JSON_TABLE(p_batch, '$[*]' COLUMNS (
             id     BIGINT UNSIGNED PATH '$[0]',
             owner  CHAR(32) PATH '$[1]',
             status INT PATH '$[2]')) AS j
      STRAIGHT_JOIN deliveries d ON d.id = j.id
     WHERE d.state = 'sending' AND d.lease_owner = j.owner
       FOR UPDATE;
  UPDATE hd_delivered_batch b STRAIGHT_JOIN deliveries d ON d.id = b.id
     SET d.state = 'delivered', d.provider_status = b.status, d.reason = NULL,
         d.lease_owner = NULL, d.lease_until = NULL;
  INSERT INTO delivery_attempts (delivery_id, attempt, started_at, finished_at, outcome,
                                 provider_status, reason)
    SELECT id, attempt, COALESCE(started, v_now), v_now, 'delivered', status, NULL
      FROM hd_delivered_batch
    ON DUPLICATE KEY UPDATE started_at = VALUES(started_at), finished_at = VALUES(finished_at),
                            outcome = VALUES(outcome), provider_status = VALUES(provider_status),
                            reason = VALUES(reason);
  SELECT id AS delivery_id FROM hd_delivered_batch;
END //

DELIMITER ;
