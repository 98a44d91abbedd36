-- Behaviour: hd_set_identity_verification(app, 1) stores and returns a random
-- 32-byte secret (64 hex), a second call rotates it, (app, 0) clears it; bad
-- arguments signal 45000.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_tenant BIGINT UNSIGNED;
  DECLARE v_app BIGINT UNSIGNED;
  DECLARE v_uid CHAR(36);
  DECLARE v_one, v_two, v_off VARCHAR(64);
  DECLARE v_err TEXT;

  CALL hd_create_tenant(CONCAT('identity ', HEX(RANDOM_BYTES(6))), v_tenant);
  CALL hd_create_app(v_tenant, 'identity app', v_app, v_uid);
  CALL hd_set_identity_verification(v_app, 1, v_one);
  IF v_one IS NULL OR v_one NOT REGEXP '^[0-9a-f]{64}$'
     OR (SELECT LOWER(HEX(identity_secret)) FROM apps WHERE id = v_app) <> v_one THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'enabling did not store and return a 64-hex secret';
  END IF;
  CALL hd_set_identity_verification(v_app, 1, v_two);
  IF v_two = v_one THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'enabling again did not rotate the secret';
  END IF;
  CALL hd_set_identity_verification(v_app, 0, v_off);
  IF v_off IS NOT NULL OR (SELECT identity_secret FROM apps WHERE id = v_app) IS NOT NULL THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'disabling did not clear the secret';
  END IF;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_set_identity_verification(v_app, 2, v_off);
  END;
  IF NOT COALESCE(v_err LIKE 'hd_set_identity_verification: enabled must be 0 or 1%', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a bad switch value was accepted';
  END IF;
END //
DELIMITER ;
