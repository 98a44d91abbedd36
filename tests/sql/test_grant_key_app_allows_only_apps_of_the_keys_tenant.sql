-- Behaviour: hd_grant_key_app grants a user_token key apps of its own tenant
-- (granting twice keeps one grant) and refuses an app of another tenant with
-- SQLSTATE 45000, storing no grant for it.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_err TEXT;
  DECLARE v_ta BIGINT UNSIGNED;
  DECLARE v_tb BIGINT UNSIGNED;
  DECLARE v_a1 BIGINT UNSIGNED;
  DECLARE v_a2 BIGINT UNSIGNED;
  DECLARE v_ab BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_k BIGINT UNSIGNED;
  DECLARE v_p VARCHAR(100);

  CALL hd_create_tenant(CONCAT('test-grant-a-', v_sfx), v_ta);
  CALL hd_create_tenant(CONCAT('test-grant-b-', v_sfx), v_tb);
  CALL hd_create_app(v_ta, CONCAT('test-grant-a1-', v_sfx), v_a1, v_app_uid);
  CALL hd_create_app(v_ta, CONCAT('test-grant-a2-', v_sfx), v_a2, v_app_uid);
  CALL hd_create_app(v_tb, CONCAT('test-grant-b-', v_sfx), v_ab, v_app_uid);
  CALL hd_issue_key('user_token', v_ta, NULL, 'grants', v_k, v_p);

  CALL hd_grant_key_app(v_k, v_a1);
  CALL hd_grant_key_app(v_k, v_a2);
  CALL hd_grant_key_app(v_k, v_a1);
  IF NOT COALESCE((SELECT COUNT(*) = 2 AND SUM(app_id IN (v_a1, v_a2)) = 2 AND MIN(tenant_id) = v_ta
                     FROM key_app_grants WHERE key_id = v_k), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'grants of the tenant''s own apps not stored exactly once each';
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) FROM hd_key_grants WHERE key_id = v_k AND key_active = 1) = 2, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_key_grants does not list the two grants';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_grant_key_app(v_k, v_ab);
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_grant_key_app: app ', v_ab, ' does not belong to tenant ', v_ta,
                                 ' of key ', v_k), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_grant_key_app granted an app of another tenant';
  END IF;
  IF (SELECT COUNT(*) FROM key_app_grants WHERE app_id = v_ab) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a grant to another tenant''s app was stored';
  END IF;
END //
DELIMITER ;
