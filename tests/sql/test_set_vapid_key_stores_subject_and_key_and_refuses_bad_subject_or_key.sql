-- Behaviour: hd_set_vapid_key stores an app's VAPID subject and EC private key in its
-- 'webpush' row; it refuses, with SQLSTATE 45000, a subject that is neither
-- mailto:address nor an https: URL (http:, a bare address, blanks), a key that is not
-- an unencrypted PEM private key, and an unknown app uid, keeping what was stored.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_err TEXT;
  DECLARE v_i INT DEFAULT 1;
  DECLARE v_want TEXT;
  DECLARE v_key TEXT DEFAULT '-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIC5vT4b+/o2opCPekXuryVa0H+xPjcLXrIRP9sC1csFFoAoGCCqGSM49
AwEHoUQDQgAEl01sTKHzcebp/79kA63CYgeh5NNlrf6fY6Z8z9OofFXSJRTFfMUL
mkBcFKhWhBYW5diKYo5JXWMM3ahd3lSppg==
-----END EC PRIVATE KEY-----';

  CALL hd_create_tenant(CONCAT('test-vapid-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-vapid-', v_sfx), v_a, v_app_uid);

  CALL hd_set_vapid_key(v_app_uid, 'https://push.example.com/contact', v_key);
  CALL hd_set_vapid_key(v_app_uid, 'mailto:ops@example.com', v_key);
  IF NOT COALESCE((SELECT COUNT(*) = 1 AND MAX(subject) = 'mailto:ops@example.com'
                          AND MAX(private_key_pem) = v_key AND MAX(team_id) IS NULL
                     FROM app_credentials WHERE app_id = v_a AND provider = 'webpush'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_vapid_key did not store the subject and key';
  END IF;

  WHILE v_i <= 7 DO
    SET v_err = NULL;
    BEGIN
      DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
      CASE v_i
        WHEN 1 THEN CALL hd_set_vapid_key(v_app_uid, 'http://example.com', v_key);
        WHEN 2 THEN CALL hd_set_vapid_key(v_app_uid, 'ops@example.com', v_key);
        WHEN 3 THEN CALL hd_set_vapid_key(v_app_uid, 'mailto:ops at example.com', v_key);
        WHEN 4 THEN CALL hd_set_vapid_key(v_app_uid, NULL, v_key);
        WHEN 5 THEN CALL hd_set_vapid_key(v_app_uid, 'mailto:new@example.com', 'BPzX0dHw0rLkJ6w');
        WHEN 6 THEN CALL hd_set_vapid_key(v_app_uid, 'mailto:new@example.com', NULL);
        ELSE CALL hd_set_vapid_key('', 'mailto:new@example.com', v_key);
      END CASE;
    END;
    SET v_want = ELT(v_i,
      'hd_set_vapid_key: bad subject ''http://example.com'' (want mailto:address or an https: URL)',
      'hd_set_vapid_key: bad subject ''ops@example.com''%',
      'hd_set_vapid_key: bad subject ''mailto:ops at example.com''%',
      'hd_set_vapid_key: bad subject ''NULL''%',
      'hd_set_vapid_key: the key is not an unencrypted PEM private key',
      'hd_set_vapid_key: the key is not an unencrypted PEM private key',
      'hd_set_vapid_key: app uid is required');
    IF NOT COALESCE(v_err LIKE v_want, FALSE) THEN
      SET v_err = CONCAT('case ', v_i, ': got ', IFNULL(v_err, 'no error'));
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_err;
    END IF;
    SET v_i = v_i + 1;
  END WHILE;

  IF NOT COALESCE((SELECT subject = 'mailto:ops@example.com'
                     FROM app_credentials WHERE app_id = v_a AND provider = 'webpush'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_set_vapid_key changed the stored credentials';
  END IF;
END //
DELIMITER ;
