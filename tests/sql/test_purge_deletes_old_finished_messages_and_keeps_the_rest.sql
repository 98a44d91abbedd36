-- Behaviour: hd_purge(N) deletes a message older than N days together with its
-- deliveries when all of them are final (delivered, gone, rejected, expired) and
-- last updated before the cutoff, and old messages without deliveries; it keeps
-- whole any message with a queued or sending delivery, with a recently updated
-- delivery, younger than N days, or of source 'inbox', and it keeps devices.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_old DATETIME(6);
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_m BIGINT UNSIGNED;
  DECLARE v_why VARCHAR(200);

  SET v_old = v_now - INTERVAL 40 DAY;
  CALL hd_create_tenant(CONCAT('test-purge-messages-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-purge-messages-', v_sfx), v_a, v_app_uid);

  -- Titles name the expected outcome. Device ids need no device rows (no foreign key).
  INSERT INTO messages (app_id, source, title, schedule_at, created_at) VALUES (v_a, 'developer', 'purge: all final, old', v_old, v_old);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at, updated_at) VALUES
    (v_m, 1, v_a, 'delivered', v_old, v_old), (v_m, 2, v_a, 'gone', v_old, v_old),
    (v_m, 3, v_a, 'rejected', v_old, v_old), (v_m, 4, v_a, 'expired', v_old, v_old);

  INSERT INTO messages (app_id, source, title, schedule_at, created_at) VALUES (v_a, 'webpush', 'purge: no deliveries, old', v_old, v_old);

  INSERT INTO messages (app_id, source, title, schedule_at, created_at) VALUES (v_a, 'developer', 'keep: one queued', v_old, v_old);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at, updated_at) VALUES
    (v_m, 1, v_a, 'delivered', v_old, v_old), (v_m, 2, v_a, 'queued', v_old, v_old);

  INSERT INTO messages (app_id, source, title, schedule_at, created_at) VALUES (v_a, 'audience', 'keep: one sending', v_old, v_old);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at, updated_at) VALUES
    (v_m, 1, v_a, 'sending', v_old, v_old), (v_m, 2, v_a, 'gone', v_old, v_old);

  INSERT INTO messages (app_id, source, title, schedule_at, created_at) VALUES (v_a, 'legacy', 'keep: final but updated yesterday', v_old, v_old);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at, updated_at) VALUES
    (v_m, 1, v_a, 'delivered', v_old, v_old), (v_m, 2, v_a, 'expired', v_old, v_now - INTERVAL 1 DAY);

  INSERT INTO messages (app_id, source, title, schedule_at, created_at) VALUES (v_a, 'inbox', 'keep: inbox', v_old, v_old);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at, updated_at) VALUES
    (v_m, 1, v_a, 'delivered', v_old, v_old);

  INSERT INTO messages (app_id, source, title, schedule_at, created_at)
  VALUES (v_a, 'developer', 'keep: 29 days old', v_now - INTERVAL 29 DAY, v_now - INTERVAL 29 DAY);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at, updated_at) VALUES
    (v_m, 1, v_a, 'delivered', v_now - INTERVAL 29 DAY, v_now - INTERVAL 29 DAY);

  CALL hd_purge(30);

  IF EXISTS (SELECT 1 FROM messages WHERE app_id = v_a AND title LIKE 'purge:%') THEN
    SET v_why = CONCAT('hd_purge kept ', (SELECT MIN(title) FROM messages WHERE app_id = v_a AND title LIKE 'purge:%'));
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_why;
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) FROM messages WHERE app_id = v_a AND title LIKE 'keep:%') = 5, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_purge deleted a message it must keep';
  END IF;
  -- Kept messages keep all their deliveries (2 + 2 + 2 + 1 + 1), purged ones leave none.
  IF NOT COALESCE((SELECT COUNT(*) FROM deliveries WHERE app_id = v_a) = 8, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_purge left orphan deliveries or deleted deliveries of kept messages';
  END IF;
  IF EXISTS (SELECT 1 FROM deliveries d LEFT JOIN messages m ON m.id = d.message_id
              WHERE d.app_id = v_a AND m.id IS NULL) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_purge left deliveries without their message';
  END IF;
END //
DELIMITER ;
