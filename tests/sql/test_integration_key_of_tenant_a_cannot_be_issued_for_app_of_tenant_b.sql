-- Behaviour: no key can be issued for tenant A naming an app of tenant B: the
-- integration key (legacy dialect, CompanyId = tenant id) and every other app-bound
-- kind are refused with SQLSTATE 45000, and no key is stored for either tenant.
-- The same kinds for A's own app succeed.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_err TEXT;
  DECLARE v_ta BIGINT UNSIGNED;
  DECLARE v_tb BIGINT UNSIGNED;
  DECLARE v_aa BIGINT UNSIGNED;
  DECLARE v_ab BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_k BIGINT UNSIGNED;
  DECLARE v_p VARCHAR(100);
  DECLARE v_kind VARCHAR(20);
  DECLARE v_i INT DEFAULT 0;
  DECLARE v_kinds JSON DEFAULT '["integration", "server", "secret", "client", "bearer"]';
  DECLARE v_why VARCHAR(200);

  CALL hd_create_tenant(CONCAT('test-cross-tenant-a-', v_sfx), v_ta);
  CALL hd_create_tenant(CONCAT('test-cross-tenant-b-', v_sfx), v_tb);
  CALL hd_create_app(v_ta, CONCAT('test-cross-tenant-a-', v_sfx), v_aa, v_app_uid);
  CALL hd_create_app(v_tb, CONCAT('test-cross-tenant-b-', v_sfx), v_ab, v_app_uid);

  WHILE v_i < JSON_LENGTH(v_kinds) DO
    SET v_kind = JSON_VALUE(v_kinds, CONCAT('$[', v_i, ']'));
    SET v_err = NULL;
    BEGIN
      DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
      CALL hd_issue_key(v_kind, v_ta, v_ab, 'cross-tenant attempt', v_k, v_p);
    END;
    IF NOT COALESCE(v_err = CONCAT('hd_issue_key: app ', v_ab, ' does not belong to tenant ', v_ta), FALSE) THEN
      SET v_why = CONCAT('a ', v_kind, ' key of tenant A was issued for an app of tenant B');
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_why;
    END IF;
    SET v_i = v_i + 1;
  END WHILE;

  IF (SELECT COUNT(*) FROM api_keys WHERE tenant_id IN (v_ta, v_tb) OR app_id IN (v_aa, v_ab)) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused cross-tenant hd_issue_key stored a key';
  END IF;

  -- Control: the integration key for A's own app is issued.
  CALL hd_issue_key('integration', v_ta, v_aa, 'own app', v_k, v_p);
  IF NOT COALESCE((SELECT tenant_id = v_ta AND app_id = v_aa FROM api_keys WHERE id = v_k), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'integration key for the tenant''s own app was not issued';
  END IF;
END //
DELIMITER ;
