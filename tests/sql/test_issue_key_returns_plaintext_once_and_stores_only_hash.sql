-- Behaviour: hd_issue_key returns the plaintext 'hd_<tag>_<48 lowercase hex>' once;
-- the database keeps only UNHEX(SHA2(plaintext, 256)) (the bytes the C code computes
-- with SHA-256 over the presented key) and nothing from which the plaintext can be
-- read back: not in api_keys, not in the hd_keys view. Every key is different.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_k1 BIGINT UNSIGNED;
  DECLARE v_p1 VARCHAR(100);
  DECLARE v_k2 BIGINT UNSIGNED;
  DECLARE v_p2 VARCHAR(100);

  -- MariaDB's SHA2 is the standard SHA-256 (FIPS 180-4 test vector "abc").
  IF NOT COALESCE(SHA2('abc', 256) = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'SHA2(..., 256) is not SHA-256';
  END IF;

  CALL hd_create_tenant(CONCAT('test-key-hash-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-key-hash-', v_sfx), v_a, v_app_uid);
  CALL hd_issue_key('server', v_t, v_a, 'hash test', v_k1, v_p1);
  CALL hd_issue_key('server', v_t, v_a, 'hash test', v_k2, v_p2);

  IF NOT COALESCE(CAST(v_p1 AS BINARY) REGEXP '^hd_srv_[0-9a-f]{48}$', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'server key plaintext is not hd_srv_ + 48 lowercase hex';
  END IF;
  IF NOT COALESCE(v_p1 <> v_p2 AND v_k1 <> v_k2, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'two issued keys are not different';
  END IF;
  IF NOT COALESCE((SELECT key_hash FROM api_keys WHERE id = v_k1) = UNHEX(SHA2(v_p1, 256))
                  AND (SELECT LENGTH(key_hash) FROM api_keys WHERE id = v_k1) = 32, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'stored key_hash is not the 32-byte SHA-256 of the plaintext';
  END IF;
  -- The lookup the C code does finds exactly this key.
  IF NOT COALESCE((SELECT id FROM api_keys WHERE key_hash = UNHEX(SHA2(v_p2, 256))) = v_k2, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lookup by SHA-256 of the plaintext does not find the key';
  END IF;
  -- The plaintext, or its random part, is in no column.
  IF (SELECT COUNT(*) FROM api_keys
       WHERE id IN (v_k1, v_k2)
         AND (INSTR(HEX(key_hash), UPPER(SUBSTR(v_p1, 8))) > 0
              OR INSTR(COALESCE(label, ''), SUBSTR(v_p1, 8)) > 0
              OR INSTR(COALESCE(label, ''), SUBSTR(v_p2, 8)) > 0)) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the plaintext is stored in api_keys';
  END IF;
  IF (SELECT COUNT(*) FROM information_schema.COLUMNS
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'api_keys'
         AND COLUMN_NAME NOT IN ('id', 'key_hash', 'kind', 'tenant_id', 'app_id',
                                 'app_user_id', 'label', 'created_at', 'revoked_at')) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'api_keys has a column this test does not know: check it cannot hold plaintext';
  END IF;
  IF (SELECT COUNT(*) FROM information_schema.COLUMNS
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'hd_keys'
         AND (COLUMN_NAME LIKE '%hash%' OR COLUMN_NAME LIKE '%plain%')) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the hd_keys view exposes the hash';
  END IF;
END //
DELIMITER ;
