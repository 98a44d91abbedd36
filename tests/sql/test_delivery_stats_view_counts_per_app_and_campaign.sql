-- Behaviour: hd_delivery_stats has one row per app and campaign (NULL for messages
-- without one) over all days, with messages, deliveries, delivered, gone, rejected,
-- expired and pending (queued + sending), and the first and last message times.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_b BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_m BIGINT UNSIGNED;

  CALL hd_create_tenant(CONCAT('test-campaign-view-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-campaign-view-a-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app(v_t, CONCAT('test-campaign-view-b-', v_sfx), v_b, v_app_uid);

  -- Campaign 'spring' on app A: two messages on two days.
  INSERT INTO messages (app_id, source, title, campaign, schedule_at, created_at)
  VALUES (v_a, 'developer', 's1', 'spring', v_now - INTERVAL 2 DAY, v_now - INTERVAL 2 DAY);
  SET v_m = LAST_INSERT_ID();
  -- device ids need not exist for the statistics; deliveries.device_id has no foreign key.
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at) VALUES
    (v_m, 1, v_a, 'delivered', v_now), (v_m, 2, v_a, 'delivered', v_now), (v_m, 3, v_a, 'gone', v_now);
  INSERT INTO messages (app_id, source, title, campaign, schedule_at, created_at)
  VALUES (v_a, 'developer', 's2', 'spring', v_now, v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at) VALUES
    (v_m, 1, v_a, 'rejected', v_now), (v_m, 2, v_a, 'expired', v_now), (v_m, 3, v_a, 'sending', v_now),
    (v_m, 4, v_a, 'queued', v_now);

  -- Campaign 'summer' on app A: one message, no deliveries.
  INSERT INTO messages (app_id, source, title, campaign, schedule_at, created_at)
  VALUES (v_a, 'webpush', 'u1', 'summer', v_now, v_now);

  -- No campaign on app A: one message, one delivery.
  INSERT INTO messages (app_id, source, title, campaign, schedule_at, created_at)
  VALUES (v_a, 'inbox', 'n1', NULL, v_now, v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at) VALUES (v_m, 1, v_a, 'delivered', v_now);

  -- Campaign 'spring' on app B is a different row.
  INSERT INTO messages (app_id, source, title, campaign, schedule_at, created_at)
  VALUES (v_b, 'developer', 'b1', 'spring', v_now, v_now);

  IF NOT COALESCE((SELECT COUNT(*) FROM hd_delivery_stats WHERE app_id = v_a) = 3, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_delivery_stats does not have three campaigns for app A';
  END IF;
  IF NOT COALESCE((SELECT tenant_id = v_t AND messages = 2 AND deliveries = 7 AND delivered = 2
                          AND gone = 1 AND rejected = 1 AND expired = 1 AND pending = 2
                          AND first_message_at = v_now - INTERVAL 2 DAY AND last_message_at = v_now
                     FROM hd_delivery_stats WHERE app_id = v_a AND campaign = 'spring'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_delivery_stats counts for campaign spring are wrong';
  END IF;
  IF NOT COALESCE((SELECT messages = 1 AND deliveries = 0 AND delivered = 0 AND pending = 0
                     FROM hd_delivery_stats WHERE app_id = v_a AND campaign = 'summer'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_delivery_stats counts for campaign summer are wrong';
  END IF;
  IF NOT COALESCE((SELECT messages = 1 AND deliveries = 1 AND delivered = 1
                     FROM hd_delivery_stats WHERE app_id = v_a AND campaign IS NULL), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_delivery_stats counts for messages without campaign are wrong';
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) = 1 AND SUM(messages) = 1 AND SUM(deliveries) = 0
                     FROM hd_delivery_stats WHERE app_id = v_b AND campaign = 'spring'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_delivery_stats mixes campaigns of two apps';
  END IF;
END //
DELIMITER ;
