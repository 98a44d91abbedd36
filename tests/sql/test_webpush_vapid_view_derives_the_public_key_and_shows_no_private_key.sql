-- Behaviour: hd_webpush_vapid shows, for an app with a VAPID key (hd_set_vapid_key),
-- its subject and its public key as the base64url of the 65-byte uncompressed P-256
-- point, the same from the PKCS#8 and the SEC 1 form of one key (the expected value
-- is what `openssl pkey -pubout` gives for this test key); NULL for a key written
-- without its public half; no row for an app without one. The view has no column
-- from which a private key can be read.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_b BIGINT UNSIGNED;
  DECLARE v_a_uid CHAR(36);
  DECLARE v_b_uid CHAR(36);
  DECLARE c_public VARCHAR(100) DEFAULT 'BBgHc9zv1TJt6RuZJgJKay90GGgSrzILc8KPjUyjRwtLu4COvu4cx675j5aHW26M5o_0rvyA6qi4wyKncfVZbO8';
  DECLARE c_pkcs8 TEXT DEFAULT CONCAT(
    '-----BEGIN PRIVATE KEY-----\n',
    'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgmx2DU7y2YymmmE9H\n',
    'Qt4KEvw4tI6ys5eYIshV/W/rYz+hRANCAAQYB3Pc79UybekbmSYCSmsvdBhoEq8y\n',
    'C3PCj41Mo0cLS7uAjr7uHMeu+Y+Wh1tujOaP9K78gOqouMMip3H1WWzv\n',
    '-----END PRIVATE KEY-----\n');
  DECLARE c_sec1 TEXT DEFAULT CONCAT(
    '-----BEGIN EC PRIVATE KEY-----\n',
    'MHcCAQEEIJsdg1O8tmMppphPR0LeChL8OLSOsrOXmCLIVf1v62M/oAoGCCqGSM49\n',
    'AwEHoUQDQgAEGAdz3O/VMm3pG5kmAkprL3QYaBKvMgtzwo+NTKNHC0u7gI6+7hzH\n',
    'rvmPlodbbozmj/Su/IDqqLjDIqdx9Vls7w==\n',
    '-----END EC PRIVATE KEY-----\n');
  DECLARE c_no_public TEXT DEFAULT CONCAT(
    '-----BEGIN EC PRIVATE KEY-----\n',
    'MDECAQEEIJsdg1O8tmMppphPR0LeChL8OLSOsrOXmCLIVf1v62M/oAoGCCqGSM49\n',
    'AwEH\n',
    '-----END EC PRIVATE KEY-----\n');

  CALL hd_create_tenant(CONCAT('test-vapid-view-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-vapid-view-a-', v_sfx), v_a, v_a_uid);
  CALL hd_create_app(v_t, CONCAT('test-vapid-view-b-', v_sfx), v_b, v_b_uid);

  CALL hd_set_vapid_key(v_a_uid, 'mailto:ops@example.com', c_pkcs8);
  IF NOT COALESCE((SELECT public_key = c_public AND subject = 'mailto:ops@example.com'
                     FROM hd_webpush_vapid WHERE app_id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the PKCS#8 key does not give its public point';
  END IF;
  CALL hd_set_vapid_key(v_a_uid, 'https://example.com/contact', c_sec1);
  IF NOT COALESCE((SELECT public_key = c_public AND subject = 'https://example.com/contact'
                     FROM hd_webpush_vapid WHERE app_id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the SEC 1 key does not give its public point';
  END IF;
  CALL hd_set_vapid_key(v_a_uid, 'mailto:ops@example.com', c_no_public);
  IF NOT COALESCE((SELECT public_key IS NULL FROM hd_webpush_vapid WHERE app_id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a key without its public half gave a public key';
  END IF;
  IF (SELECT COUNT(*) FROM hd_webpush_vapid WHERE app_id = v_b) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'an app without a VAPID key has a row';
  END IF;
  IF (SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION)
        FROM information_schema.COLUMNS
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'hd_webpush_vapid') <> 'app_id,subject,public_key' THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_webpush_vapid has a column this test does not know';
  END IF;
  DELETE FROM app_credentials WHERE app_id = v_a;
END //
DELIMITER ;
