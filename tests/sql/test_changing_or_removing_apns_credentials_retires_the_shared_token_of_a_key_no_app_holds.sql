-- Behaviour: an app's APNs key fingerprint is the SHA-256 of its .p8 text without blanks
-- or line breaks (the same file with CRLF line endings has the same one). Storing or
-- removing APNs credentials retires, in the same call, every shared provider token
-- (provider_tokens) whose team, key id and key no app holds any more:
--   * setting the same key again (a new topic) keeps its token;
--   * replacing one app's key keeps the old key's token while another app holds it;
--   * replacing the last holder's key, switching it to certificate auth, removing its
--     APNs credentials, or moving it to another key id retires the token;
--   * tokens of other keys stay.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_team CHAR(10) DEFAULT UPPER(LEFT(HEX(RANDOM_BYTES(5)), 10));
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_x BIGINT UNSIGNED;
  DECLARE v_y BIGINT UNSIGNED;
  DECLARE v_x_uid CHAR(36);
  DECLARE v_y_uid CHAR(36);
  DECLARE v_fp_a CHAR(64);
  DECLARE v_fp_b CHAR(64);
  DECLARE v_key_a TEXT DEFAULT '-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLm9Phv7+jaikI96R
e6vJVrQf7E+NwteshE/2wLVywUWhRANCAASXTWxMofNx5un/v2QDrcJiB6Hk02Wt
/p9jpnzP06h8VdIlFMV8xQuaQFwUqFaEFhbl2IpijkldYwzdqF3eVKmm
-----END PRIVATE KEY-----';
  DECLARE v_key_b TEXT DEFAULT '-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0vZ43BT1JQD7BC+e
JqUJqrcV4/W3cNU2CCnu17tkzIehRANCAARtWk1tWMPymK/QTzqZgIdcecjerp0r
vvguAlj0z/5U0i7zSZbQQ9gsAMGeH+jR+8jtRPW9DxhNPBfUs4Wqze2I
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

  CALL hd_create_tenant(CONCAT('test-token-retire-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-token-retire-x-', v_sfx), v_x, v_x_uid);
  CALL hd_create_app(v_t, CONCAT('test-token-retire-y-', v_sfx), v_y, v_y_uid);

  CALL hd_set_apns_token_auth(v_x_uid, v_team, 'KEYREPLACE', v_key_a, 'com.example.app', 0);
  CALL hd_set_apns_token_auth(v_y_uid, v_team, 'KEYREPLACE', REPLACE(v_key_a, '\n', '\r\n'),
                              'com.example.other', 0);
  SET v_fp_a = (SELECT apns_key_fingerprint FROM app_credentials WHERE app_id = v_x AND provider = 'apns');
  IF NOT COALESCE(v_fp_a = SHA2(REPLACE(REPLACE(v_key_a, '\n', ''), ' ', ''), 256), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the key fingerprint is not the SHA-256 of the key without blanks or line breaks';
  END IF;
  IF NOT COALESCE((SELECT apns_key_fingerprint = v_fp_a FROM app_credentials
                    WHERE app_id = v_y AND provider = 'apns'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the same key with CRLF line endings has another fingerprint';
  END IF;
  CALL hd_share_provider_token(v_team, 'KEYREPLACE', v_fp_a, 'jwt-a', v_now, 3000);

  CALL hd_set_apns_token_auth(v_x_uid, v_team, 'KEYREPLACE', v_key_a, 'com.example.app2', 0);
  IF NOT EXISTS (SELECT 1 FROM provider_tokens WHERE issuer = v_team AND key_id = 'KEYREPLACE'
                    AND key_fingerprint = v_fp_a AND token = 'jwt-a') THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'setting the same key again retired its token';
  END IF;

  CALL hd_set_apns_token_auth(v_x_uid, v_team, 'KEYREPLACE', v_key_b, 'com.example.app', 0);
  SET v_fp_b = (SELECT apns_key_fingerprint FROM app_credentials WHERE app_id = v_x AND provider = 'apns');
  IF NOT COALESCE(v_fp_b <> v_fp_a AND v_fp_b REGEXP '^[0-9a-f]{64}$', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'another key has no fingerprint of its own';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM provider_tokens WHERE issuer = v_team AND key_id = 'KEYREPLACE'
                    AND key_fingerprint = v_fp_a) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the token of a key another app still holds was retired';
  END IF;
  CALL hd_share_provider_token(v_team, 'KEYREPLACE', v_fp_b, 'jwt-b', v_now, 3000);

  -- The last holder of key A goes to certificate auth.
  CALL hd_set_apns_certificate_auth(v_y_uid, v_cert, v_key_a, 'com.example.app', 0);
  IF EXISTS (SELECT 1 FROM provider_tokens WHERE issuer = v_team AND key_fingerprint = v_fp_a) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'switching the last holder to certificate auth did not retire the token';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM provider_tokens WHERE issuer = v_team AND key_id = 'KEYREPLACE'
                    AND key_fingerprint = v_fp_b AND token = 'jwt-b') THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the token of another key was retired';
  END IF;

  -- The last holder of key A replaces it with key B (an operator fixing a wrong file).
  CALL hd_set_apns_token_auth(v_y_uid, v_team, 'KEYREPLACE', v_key_a, 'com.example.app', 0);
  CALL hd_share_provider_token(v_team, 'KEYREPLACE', v_fp_a, 'jwt-a2', v_now, 3000);
  CALL hd_set_apns_token_auth(v_y_uid, v_team, 'KEYREPLACE', v_key_b, 'com.example.app', 0);
  IF EXISTS (SELECT 1 FROM provider_tokens WHERE issuer = v_team AND key_fingerprint = v_fp_a) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'replacing the last holder''s key did not retire its token';
  END IF;

  -- The last holder of key A removes its APNs credentials.
  CALL hd_set_apns_token_auth(v_y_uid, v_team, 'KEYREPLACE', v_key_a, 'com.example.app', 0);
  CALL hd_share_provider_token(v_team, 'KEYREPLACE', v_fp_a, 'jwt-a3', v_now, 3000);
  CALL hd_remove_credentials(v_y_uid, 'apns');
  IF EXISTS (SELECT 1 FROM provider_tokens WHERE issuer = v_team AND key_fingerprint = v_fp_a) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'removing the last holder''s credentials did not retire its token';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM provider_tokens WHERE issuer = v_team AND key_fingerprint = v_fp_b) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'removing credentials retired the token of a key still in use';
  END IF;

  -- The last holder of key B under KEYREPLACE moves to another key id.
  CALL hd_set_apns_token_auth(v_x_uid, v_team, 'KEYMOVED01', v_key_b, 'com.example.app', 0);
  IF EXISTS (SELECT 1 FROM provider_tokens WHERE issuer = v_team) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'moving the last holder to another key id did not retire its token';
  END IF;
END //
DELIMITER ;
