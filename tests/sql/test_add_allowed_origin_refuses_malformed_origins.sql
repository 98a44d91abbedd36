-- Behaviour: hd_add_allowed_origin refuses, with SQLSTATE 45000, anything that is not
-- scheme://host[:port] with scheme http or https: other schemes, paths, trailing
-- slashes, queries, fragments, user info, wildcards, bad ports, blanks, non-ASCII
-- hosts (even letters that case-fold to ASCII), NULL; it also refuses an unknown
-- app. Nothing is stored.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_err TEXT;
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_missing_a BIGINT UNSIGNED DEFAULT (SELECT COALESCE(MAX(id), 0) + 1000000 FROM apps);
  DECLARE v_i INT DEFAULT 0;
  DECLARE v_in VARCHAR(255);
  DECLARE v_why VARCHAR(300);
  DECLARE v_bad JSON DEFAULT '[
    null, "", "example.com", "//example.com", "ftp://example.com", "ws://example.com",
    "https://", "https://example.com/", "https://example.com/app", "https://example.com?x=1",
    "https://example.com#top", "https://user@example.com", "https://user:pw@example.com",
    "https://*.example.com", "https://example.com:", "https://example.com:0",
    "https://example.com:65536", "https://example.com:08080", "https://example.com:http",
    " https://example.com", "https://example.com ", "https://exa mple.com",
    "https://example.com.", "https://-example.com", "https://example-.com",
    "https://exa_mple.com", "https://bücher.example", "null", "https://example..com",
    "https://[::1", "https:///example.com", "https://\u017fhop.example",
    "https://\u212aey.example", "https://example.com\n"
  ]';

  CALL hd_create_tenant(CONCAT('test-origins-bad-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-origins-bad-', v_sfx), v_a, v_app_uid);

  WHILE v_i < JSON_LENGTH(v_bad) DO
    SET v_in = JSON_VALUE(v_bad, CONCAT('$[', v_i, ']'));
    SET v_err = NULL;
    BEGIN
      DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
      CALL hd_add_allowed_origin(v_a, v_in);
    END;
    IF NOT COALESCE(v_err LIKE 'hd_add_allowed_origin: bad origin %', FALSE) THEN
      SET v_why = CONCAT('hd_add_allowed_origin accepted [', IFNULL(v_in, 'NULL'), ']');
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_why;
    END IF;
    SET v_i = v_i + 1;
  END WHILE;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_add_allowed_origin(v_missing_a, 'https://example.com');
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_add_allowed_origin: unknown app ', v_missing_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_add_allowed_origin accepted an unknown app';
  END IF;

  IF (SELECT COUNT(*) FROM app_origins WHERE app_id IN (v_a, v_missing_a)) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_add_allowed_origin stored an origin';
  END IF;
END //
DELIMITER ;
