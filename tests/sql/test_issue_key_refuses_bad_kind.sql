-- Behaviour: hd_issue_key refuses a kind that is not exactly one of server, secret,
-- client, integration, user_token, bearer (NULL, empty, unknown, wrong case) with
-- SQLSTATE 45000, and stores no key.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_err TEXT;
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_k BIGINT UNSIGNED;
  DECLARE v_p VARCHAR(100);
  DECLARE v_i INT DEFAULT 0;
  DECLARE v_bad JSON DEFAULT '[null, "", "admin", "Server", "SECRET", "server ", "user-token", "bearer\\u0000"]';
  DECLARE v_why VARCHAR(200);

  CALL hd_create_tenant(CONCAT('test-key-bad-kind-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-key-bad-kind-', v_sfx), v_a, v_app_uid);

  WHILE v_i < JSON_LENGTH(v_bad) DO
    SET v_err = NULL;
    BEGIN
      DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
      CALL hd_issue_key(JSON_VALUE(v_bad, CONCAT('$[', v_i, ']')), v_t, v_a, NULL, v_k, v_p);
    END;
    IF NOT COALESCE(v_err LIKE 'hd_issue_key: bad kind %', FALSE) THEN
      SET v_why = CONCAT('hd_issue_key accepted bad kind number ', v_i);
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_why;
    END IF;
    SET v_i = v_i + 1;
  END WHILE;

  IF (SELECT COUNT(*) FROM api_keys WHERE tenant_id = v_t) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_issue_key stored a key';
  END IF;
END //
DELIMITER ;
