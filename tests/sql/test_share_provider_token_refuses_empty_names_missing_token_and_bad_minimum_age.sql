-- Behaviour: hd_share_provider_token refuses an empty or NULL issuer or key id, a key
-- fingerprint that is not 64 lowercase hex digits, a missing candidate or issue time,
-- and a minimum age outside 0..86400 seconds, with SQLSTATE 45000, and stores nothing.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_team VARCHAR(16) DEFAULT UPPER(LEFT(HEX(RANDOM_BYTES(5)), 10));
  DECLARE v_fp CHAR(64) DEFAULT SHA2('the signing key', 256);
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_err TEXT;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_share_provider_token('', 'KEY1', v_fp, 'jwt', v_now, 3000);
  END;
  IF NOT COALESCE(v_err = 'hd_share_provider_token: issuer and key id must not be empty', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_share_provider_token accepted an empty issuer';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_share_provider_token(v_team, NULL, v_fp, 'jwt', v_now, 3000);
  END;
  IF NOT COALESCE(v_err = 'hd_share_provider_token: issuer and key id must not be empty', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_share_provider_token accepted a NULL key id';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_share_provider_token(v_team, 'KEY1', NULL, 'jwt', v_now, 3000);
  END;
  IF NOT COALESCE(v_err = 'hd_share_provider_token: the key fingerprint must be 64 lowercase hex digits', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_share_provider_token accepted a NULL key fingerprint';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_share_provider_token(v_team, 'KEY1', UPPER(v_fp), 'jwt', v_now, 3000);
  END;
  IF NOT COALESCE(v_err = 'hd_share_provider_token: the key fingerprint must be 64 lowercase hex digits', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_share_provider_token accepted an uppercase key fingerprint';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_share_provider_token(v_team, 'KEY1', LEFT(v_fp, 63), 'jwt', v_now, 3000);
  END;
  IF NOT COALESCE(v_err = 'hd_share_provider_token: the key fingerprint must be 64 lowercase hex digits', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_share_provider_token accepted a short key fingerprint';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_share_provider_token(v_team, 'KEY1', v_fp, '', v_now, 3000);
  END;
  IF NOT COALESCE(v_err = 'hd_share_provider_token: candidate token and its issue time are required', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_share_provider_token accepted an empty token';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_share_provider_token(v_team, 'KEY1', v_fp, 'jwt', NULL, 3000);
  END;
  IF NOT COALESCE(v_err = 'hd_share_provider_token: candidate token and its issue time are required', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_share_provider_token accepted a token without issue time';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_share_provider_token(v_team, 'KEY1', v_fp, 'jwt', v_now, -1);
  END;
  IF NOT COALESCE(v_err = 'hd_share_provider_token: minimum age must be 0..86400 seconds, not -1', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_share_provider_token accepted a negative minimum age';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_share_provider_token(v_team, 'KEY1', v_fp, 'jwt', v_now, NULL);
  END;
  IF NOT COALESCE(v_err = 'hd_share_provider_token: minimum age must be 0..86400 seconds, not NULL', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_share_provider_token accepted a NULL minimum age';
  END IF;

  IF EXISTS (SELECT 1 FROM provider_tokens WHERE issuer IN (v_team, '')) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_share_provider_token stored a token';
  END IF;
END //
DELIMITER ;
