-- Behaviour: hd_issue_key issues server, secret, client, integration and bearer keys
-- for an app of the tenant: each row has its kind, the tenant, the app, no app user
-- and no revocation, and its plaintext carries the kind's tag
-- (srv, sec, cli, int, bt).
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_k BIGINT UNSIGNED;
  DECLARE v_p VARCHAR(100);
  DECLARE v_kind VARCHAR(20);
  DECLARE v_tag VARCHAR(8);
  DECLARE v_i INT DEFAULT 0;
  DECLARE v_kinds JSON DEFAULT '[["server","srv"],["secret","sec"],["client","cli"],["integration","int"],["bearer","bt"]]';
  DECLARE v_why VARCHAR(200);

  CALL hd_create_tenant(CONCAT('test-key-kinds-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-key-kinds-', v_sfx), v_a, v_app_uid);

  WHILE v_i < JSON_LENGTH(v_kinds) DO
    SET v_kind = JSON_VALUE(v_kinds, CONCAT('$[', v_i, '][0]'));
    SET v_tag = JSON_VALUE(v_kinds, CONCAT('$[', v_i, '][1]'));
    CALL hd_issue_key(v_kind, v_t, v_a, CONCAT('kind ', v_kind), v_k, v_p);
    IF NOT COALESCE(CAST(v_p AS BINARY) REGEXP CONCAT('^hd_', v_tag, '_[0-9a-f]{48}$'), FALSE) THEN
      SET v_why = CONCAT(v_kind, ' key plaintext lacks the tag ', v_tag);
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_why;
    END IF;
    IF NOT COALESCE((SELECT kind = v_kind AND tenant_id = v_t AND app_id = v_a
                            AND app_user_id IS NULL AND revoked_at IS NULL
                            AND label = CONCAT('kind ', v_kind)
                            AND key_hash = UNHEX(SHA2(v_p, 256))
                       FROM api_keys WHERE id = v_k), FALSE) THEN
      SET v_why = CONCAT(v_kind, ' key row does not match the call');
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_why;
    END IF;
    SET v_i = v_i + 1;
  END WHILE;
END //
DELIMITER ;
