-- 0015: the queue as /metrics shows it (docs/metrics.md).
--
-- hd_queue_metrics: the deliveries still in the queue (queued, and sending under a
-- lease) by state and priority, with how long the oldest due one of each has waited.
-- Read on each scrape: one range of the claim index (state, priority, due_at), which
-- covers the query, so finished deliveries are never read however many there are.
-- A procedure, so that the web programs' account needs only EXECUTE.
--
-- Safe to apply again (CREATE OR REPLACE).

DELIMITER //

CREATE OR REPLACE PROCEDURE hd_queue_metrics()
BEGIN
  SELECT state, priority, COUNT(*) AS deliveries,
         -- microseconds the oldest due delivery has waited; 0 when none is due yet
         -- (a sending delivery's due_at is when it was claimed: not a wait)
         IF(state = 'queued',
            GREATEST(0, TIMESTAMPDIFF(MICROSECOND, MIN(due_at), UTC_TIMESTAMP(6))), 0)
           AS oldest_due_us
    FROM deliveries
   WHERE state IN ('queued', 'sending')
   GROUP BY state, priority
   ORDER BY state, priority;
END//

DELIMITER ;
