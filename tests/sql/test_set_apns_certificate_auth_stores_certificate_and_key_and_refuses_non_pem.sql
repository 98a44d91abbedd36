-- Behaviour: hd_set_apns_certificate_auth stores an app's APNs certificate
-- credentials (certificate or chain, its key, topic, sandbox) in place of token ones
-- (team and key ids gone); it refuses, with SQLSTATE 45000, a certificate that is not
-- PEM, a key that is not an unencrypted PEM private key, a bad topic or sandbox, and
-- an unknown app uid, leaving the stored credentials as they were.
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
  DECLARE v_token_key TEXT DEFAULT '-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLm9Phv7+jaikI96R
e6vJVrQf7E+NwteshE/2wLVywUWhRANCAASXTWxMofNx5un/v2QDrcJiB6Hk02Wt
/p9jpnzP06h8VdIlFMV8xQuaQFwUqFaEFhbl2IpijkldYwzdqF3eVKmm
-----END PRIVATE KEY-----';
  DECLARE v_cert TEXT DEFAULT '-----BEGIN CERTIFICATE-----
MIIBsjCCAVmgAwIBAgIUJjRylO6C2QYH0kjTgmFNp5s0d0AwCgYIKoZIzj0EAwIw
LzEtMCsGA1UEAwwkQXBwbGUgUHVzaCBTZXJ2aWNlczogY29tLmV4YW1wbGUuYXBw
MB4XDTI2MTEyMjE4NDc1M1oXDTI3MTEyMjE4NDc1M1owLzEtMCsGA1UEAwwkQXBw
bGUgUHVzaCBTZXJ2aWNlczogY29tLmV4YW1wbGUuYXBwMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEl01sTKHzcebp/79kA63CYgeh5NNlrf6fY6Z8z9OofFXSJRTF
fMULmkBcFKhWhBYW5diKYo5JXWMM3ahd3lSppqNTMFEwHQYDVR0OBBYEFD/28Wvp
OHH8zS80Tbv3ruFqTSX2MB8GA1UdIwQYMBaAFD/28WvpOHH8zS80Tbv3ruFqTSX2
MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgF7RuJLm1jcmRblZb
VyH4+H2JFqoUVmwRjR8FhL3ta5wCIHTs+9Uxy73nZ3FvsPCsXZWG2AkQ7p1Hkbf1
3uJUppy4
-----END CERTIFICATE-----';
  DECLARE v_chain TEXT;

  SET v_chain = CONCAT(v_cert, '\n', v_cert, '\n');
  CALL hd_create_tenant(CONCAT('test-apns-cert-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-apns-cert-', v_sfx), v_a, v_app_uid);
  CALL hd_set_apns_token_auth(v_app_uid, 'TEAM000001', 'KEY0000001', v_token_key, 'com.example.app', 0);

  CALL hd_set_apns_certificate_auth(v_app_uid, v_chain, v_key, 'com.example.app', 1);
  IF NOT COALESCE((SELECT apns_auth = 'certificate' AND certificate_pem = CONCAT(v_cert, '\n', v_cert)
                          AND private_key_pem = v_key AND team_id IS NULL AND key_id IS NULL
                          AND topic = 'com.example.app' AND sandbox = 1
                     FROM app_credentials WHERE app_id = v_a AND provider = 'apns'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_apns_certificate_auth did not replace the token credentials with the certificate ones';
  END IF;

  WHILE v_i <= 7 DO
    SET v_err = NULL;
    BEGIN
      DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
      CASE v_i
        WHEN 1 THEN CALL hd_set_apns_certificate_auth(v_app_uid, v_key, v_key, 'com.example.other', 0);
        WHEN 2 THEN CALL hd_set_apns_certificate_auth(v_app_uid, 'not a certificate', v_key, 'com.example.other', 0);
        WHEN 3 THEN CALL hd_set_apns_certificate_auth(v_app_uid, NULL, v_key, 'com.example.other', 0);
        WHEN 4 THEN CALL hd_set_apns_certificate_auth(v_app_uid, v_cert, v_cert, 'com.example.other', 0);
        WHEN 5 THEN CALL hd_set_apns_certificate_auth(v_app_uid, v_cert, v_key, 'com example', 0);
        WHEN 6 THEN CALL hd_set_apns_certificate_auth(v_app_uid, v_cert, v_key, 'com.example.other', NULL);
        ELSE CALL hd_set_apns_certificate_auth(CONCAT(v_app_uid, 'x'), v_cert, v_key, 'com.example.other', 0);
      END CASE;
    END;
    SET v_want = ELT(v_i,
      'hd_set_apns_certificate_auth: the certificate is not PEM%',
      'hd_set_apns_certificate_auth: the certificate is not PEM%',
      'hd_set_apns_certificate_auth: the certificate is not PEM%',
      'hd_set_apns_certificate_auth: the key is not an unencrypted PEM private key%',
      'hd_set_apns_certificate_auth: bad topic ''com example''%',
      'hd_set_apns_certificate_auth: sandbox must be 0 or 1, not NULL',
      CONCAT('hd_set_apns_certificate_auth: unknown app ''', v_app_uid, 'x'''));
    IF NOT COALESCE(v_err LIKE v_want, FALSE) THEN
      SET v_err = CONCAT('case ', v_i, ': got ', IFNULL(v_err, 'no error'));
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_err;
    END IF;
    SET v_i = v_i + 1;
  END WHILE;

  IF NOT COALESCE((SELECT topic = 'com.example.app' AND sandbox = 1 AND apns_auth = 'certificate'
                     FROM app_credentials WHERE app_id = v_a AND provider = 'apns'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_set_apns_certificate_auth changed the stored credentials';
  END IF;
END //
DELIMITER ;
