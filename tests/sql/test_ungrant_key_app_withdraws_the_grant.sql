-- Behaviour: hd_ungrant_key_app removes one app from a user_token key's grants and
-- leaves its other grants; withdrawing it again is harmless; an unknown key is
-- refused with SQLSTATE 45000.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_err TEXT;
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a1 BIGINT UNSIGNED;
  DECLARE v_a2 BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_k BIGINT UNSIGNED;
  DECLARE v_p VARCHAR(100);
  DECLARE v_missing_k BIGINT UNSIGNED DEFAULT (SELECT COALESCE(MAX(id), 0) + 1000000 FROM api_keys);

  CALL hd_create_tenant(CONCAT('test-ungrant-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-ungrant-1-', v_sfx), v_a1, v_app_uid);
  CALL hd_create_app(v_t, CONCAT('test-ungrant-2-', v_sfx), v_a2, v_app_uid);
  CALL hd_issue_key('user_token', v_t, NULL, NULL, v_k, v_p);
  CALL hd_grant_key_app(v_k, v_a1);
  CALL hd_grant_key_app(v_k, v_a2);

  CALL hd_ungrant_key_app(v_k, v_a1);
  CALL hd_ungrant_key_app(v_k, v_a1);
  IF NOT COALESCE((SELECT COUNT(*) = 1 AND MAX(app_id) = v_a2 FROM key_app_grants WHERE key_id = v_k), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_ungrant_key_app did not remove exactly the one grant';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_ungrant_key_app(v_missing_k, v_a2);
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_ungrant_key_app: unknown key ', v_missing_k), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_ungrant_key_app accepted an unknown key';
  END IF;
END //
DELIMITER ;
