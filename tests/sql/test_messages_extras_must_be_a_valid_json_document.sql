-- Behaviour: messages.extras takes NULL or a valid JSON document (the notification's
-- further fields) and refuses anything else with a constraint error, so the engine
-- never reads a broken document.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_refused TINYINT DEFAULT 0;

  CALL hd_create_tenant(CONCAT('test-extras-json-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-extras-json-', v_sfx), v_a, v_app_uid);
  INSERT INTO messages (app_id, source, title, schedule_at, extras) VALUES
    (v_a, 'developer', 'no extras', v_now, NULL),
    (v_a, 'developer', 'extras', v_now,
     '{"subtitle":"Order #4521","badge":3,"actions":[{"id":"open","title":"Open"}],"mutable_content":true}');

  BEGIN
    -- 4025: CONSTRAINT failed (the diagnostics also hold JSON_VALID's own warning).
    DECLARE EXIT HANDLER FOR 4025 SET v_refused = 1;
    INSERT INTO messages (app_id, source, title, schedule_at, extras)
      VALUES (v_a, 'developer', 'broken extras', v_now, '{"badge": 3');
  END;
  IF NOT v_refused THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'messages.extras accepted a broken JSON document';
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) FROM messages WHERE app_id = v_a) = 2
                  AND (SELECT JSON_VALUE(extras, '$.actions[0].id') = 'open' FROM messages
                        WHERE app_id = v_a AND title = 'extras'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'messages.extras did not keep NULL and a valid document';
  END IF;
END //
DELIMITER ;
