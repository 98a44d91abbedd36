-- Behaviour: hd_campaign_stats has one row per app and campaign (messages.campaign)
-- with its sends, the devices they went to, those deliveries by outcome, and the
-- first and last send; messages without a campaign are not counted, and another app's
-- campaign of the same name stays apart. hd_campaign_failures lists the failed
-- deliveries by state and provider reason.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_b BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_user_uid CHAR(32);
  DECLARE v_user BIGINT UNSIGNED;
  DECLARE v_d1 BIGINT UNSIGNED;
  DECLARE v_d2 BIGINT UNSIGNED;
  DECLARE v_m BIGINT UNSIGNED;

  CALL hd_create_tenant(CONCAT('test-campaign-view-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-campaign-a-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app(v_t, CONCAT('test-campaign-b-', v_sfx), v_b, v_app_uid);
  CALL hd_create_app_user(v_a, 'viewer', NULL, v_user_uid);
  SET v_user = (SELECT id FROM app_users WHERE uid = v_user_uid);
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
  VALUES (LOWER(HEX(RANDOM_BYTES(16))), v_a, v_user, 'android', CONCAT('c1-', v_sfx), UNHEX(SHA2(CONCAT('c1-', v_sfx), 256)));
  SET v_d1 = LAST_INSERT_ID();
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
  VALUES (LOWER(HEX(RANDOM_BYTES(16))), v_a, v_user, 'ios', CONCAT('c2-', v_sfx), UNHEX(SHA2(CONCAT('c2-', v_sfx), 256)));
  SET v_d2 = LAST_INSERT_ID();

  -- Campaign "spring" of app A: two sends an hour apart, 4 deliveries.
  INSERT INTO messages (app_id, source, title, schedule_at, created_at, campaign)
  VALUES (v_a, 'audience', 's1', v_now - INTERVAL 1 HOUR, v_now - INTERVAL 1 HOUR, 'spring');
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at, reason) VALUES
    (v_m, v_d1, v_a, 'delivered', v_now, NULL), (v_m, v_d2, v_a, 'gone', v_now, 'Unregistered');
  INSERT INTO messages (app_id, source, title, schedule_at, created_at, campaign)
  VALUES (v_a, 'audience', 's2', v_now, v_now, 'spring');
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at, reason) VALUES
    (v_m, v_d1, v_a, 'rejected', v_now, 'INVALID_ARGUMENT'), (v_m, v_d2, v_a, 'queued', v_now, NULL);
  -- Without a campaign: not in the views.
  INSERT INTO messages (app_id, source, title, schedule_at, created_at)
  VALUES (v_a, 'audience', 'none', v_now, v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at) VALUES (v_m, v_d1, v_a, 'gone', v_now);
  -- App B's "spring", with no deliveries.
  INSERT INTO messages (app_id, source, title, schedule_at, created_at, campaign)
  VALUES (v_b, 'audience', 'b', v_now, v_now, 'spring');

  IF NOT COALESCE((SELECT COUNT(*) = 1 AND MIN(sends) = 2 AND MIN(devices) = 4
                          AND MIN(delivered) = 1 AND MIN(gone) = 1 AND MIN(rejected) = 1
                          AND MIN(expired) = 0 AND MIN(pending) = 1
                          AND MIN(first_send) = v_now - INTERVAL 1 HOUR AND MAX(last_send) = v_now
                     FROM hd_campaign_stats WHERE app_id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_campaign_stats for app A is wrong';
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) = 1 AND MIN(sends) = 1 AND MIN(devices) = 0 AND MIN(delivered) = 0
                     FROM hd_campaign_stats WHERE app_id = v_b AND campaign = 'spring'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_campaign_stats for app B is wrong';
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) = 2 AND SUM(deliveries) = 2
                          AND SUM(state = 'gone' AND reason = 'Unregistered') = 1
                          AND SUM(state = 'rejected' AND reason = 'INVALID_ARGUMENT') = 1
                     FROM hd_campaign_failures WHERE app_id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_campaign_failures for app A is wrong';
  END IF;
END //
DELIMITER ;
