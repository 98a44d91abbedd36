-- Behaviour: hd_remove_credentials deletes an app's credentials for one provider and
-- leaves its others, whose updated_at moves forward so that the engine's
-- MAX(updated_at) check notices the removal; it refuses, with SQLSTATE 45000, a
-- provider the app has no credentials for, an unknown provider name, and an unknown
-- app uid.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_err TEXT;
  DECLARE v_max_before DATETIME(6);
  DECLARE v_key TEXT DEFAULT '-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIC5vT4b+/o2opCPekXuryVa0H+xPjcLXrIRP9sC1csFFoAoGCCqGSM49
AwEHoUQDQgAEl01sTKHzcebp/79kA63CYgeh5NNlrf6fY6Z8z9OofFXSJRTFfMUL
mkBcFKhWhBYW5diKYo5JXWMM3ahd3lSppg==
-----END EC PRIVATE KEY-----';

  CALL hd_create_tenant(CONCAT('test-remove-credentials-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-remove-credentials-', v_sfx), v_a, v_app_uid);
  CALL hd_set_vapid_key(v_app_uid, 'mailto:ops@example.com', v_key);
  CALL hd_set_wns_credentials(v_app_uid, 'ms-app://s-1-15-2-1', 'secret-1');
  -- The row to remove is the older one: MAX(updated_at) alone would not change.
  UPDATE app_credentials SET updated_at = updated_at - INTERVAL 1 HOUR
   WHERE app_id = v_a AND provider = 'webpush';
  SET v_max_before = (SELECT MAX(updated_at) FROM app_credentials WHERE app_id = v_a);

  CALL hd_remove_credentials(v_app_uid, 'webpush');
  IF EXISTS (SELECT 1 FROM app_credentials WHERE app_id = v_a AND provider = 'webpush') THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_remove_credentials did not remove the webpush credentials';
  END IF;
  IF NOT COALESCE((SELECT client_secret = 'secret-1' AND updated_at > v_max_before
                     FROM app_credentials WHERE app_id = v_a AND provider = 'wns'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_remove_credentials lost the other provider or left MAX(updated_at) unchanged';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_remove_credentials(v_app_uid, 'webpush');
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_remove_credentials: app ''', v_app_uid, ''' has no webpush credentials'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_remove_credentials accepted credentials the app does not have';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_remove_credentials(v_app_uid, 'gcm');
  END;
  IF NOT COALESCE(v_err = 'hd_remove_credentials: bad provider ''gcm'' (want apns, fcm, webpush or wns)', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_remove_credentials accepted an unknown provider';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_remove_credentials(v_app_uid, 'WNS');
  END;
  IF NOT COALESCE(v_err LIKE 'hd_remove_credentials: bad provider ''WNS''%', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_remove_credentials accepted an uppercase provider';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_remove_credentials('no-such-app', 'wns');
  END;
  IF NOT COALESCE(v_err = 'hd_remove_credentials: unknown app ''no-such-app''', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_remove_credentials accepted an unknown app';
  END IF;

  IF NOT EXISTS (SELECT 1 FROM app_credentials WHERE app_id = v_a AND provider = 'wns') THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_remove_credentials removed credentials';
  END IF;
END //
DELIMITER ;
