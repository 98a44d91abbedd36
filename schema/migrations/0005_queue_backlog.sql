-- herald schema, migration 5: the queue backlog, for overload answers (DESIGN §2: when
-- the backlog is over its configured limit, sends answer 503 with Retry-After at once).
--
-- Counting due deliveries on every send would cost each request a scan of the queue,
-- so the workers measure it (hd_measure_backlog, about once a second, counting at most
-- a cap) and the send path reads the one row. A measurement older than a few seconds
-- means no worker is measuring; the send path then ignores it.

DELIMITER //

CREATE TABLE queue_backlog (
  id           TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  due          INT UNSIGNED NOT NULL,   -- queued deliveries due now, counted up to a cap
  measured_at  DATETIME(6) NOT NULL,
  CONSTRAINT queue_backlog_one_row CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin//

-- hd_measure_backlog: counts queued deliveries that are due, stopping at p_cap (the
-- limit plus one is all that matters), and stores the count. Any worker may call it;
-- the last measurement wins.
CREATE OR REPLACE PROCEDURE hd_measure_backlog(IN p_cap INT)
BEGIN
  IF p_cap IS NULL OR p_cap < 1 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_measure_backlog: p_cap must be at least 1';
  END IF;
  INSERT INTO queue_backlog (id, due, measured_at)
    SELECT 1, COUNT(*), UTC_TIMESTAMP(6)
      FROM (SELECT 1 FROM deliveries
             WHERE state = 'queued'
               -- one due-time range per priority of the claim index, so deliveries
               -- scheduled for later are not read (as in hd_claim_deliveries)
               AND (priority > 10 OR priority IN (10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0))
               AND due_at <= UTC_TIMESTAMP(6) LIMIT p_cap) AS due_now
  ON DUPLICATE KEY UPDATE due = VALUES(due), measured_at = VALUES(measured_at);
  SELECT due FROM queue_backlog WHERE id = 1;
END//

DELIMITER ;
