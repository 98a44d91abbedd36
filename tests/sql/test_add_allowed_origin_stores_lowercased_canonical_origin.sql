-- Behaviour: hd_add_allowed_origin accepts http(s)://host[:port] origins (DNS names,
-- IPv4, [IPv6], ports 1..65535) and stores them lowercased, without the scheme's
-- default port (browsers never send it in Origin); adding one twice keeps one row.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_i INT DEFAULT 0;
  DECLARE v_in VARCHAR(255);
  DECLARE v_want VARCHAR(255);
  DECLARE v_why VARCHAR(300);
  -- [given, stored]
  DECLARE v_cases JSON DEFAULT '[
    ["https://example.com",            "https://example.com"],
    ["HTTPS://WWW.Example.COM",        "https://www.example.com"],
    ["http://localhost:8080",          "http://localhost:8080"],
    ["https://shop.example.co.uk:8443","https://shop.example.co.uk:8443"],
    ["https://example.org:443",        "https://example.org"],
    ["http://example.org:80",          "http://example.org"],
    ["http://example.net:443",         "http://example.net:443"],
    ["http://127.0.0.1:3000",          "http://127.0.0.1:3000"],
    ["http://[::1]:8080",              "http://[::1]:8080"],
    ["https://xn--bcher-kva.example",  "https://xn--bcher-kva.example"],
    ["https://a-b.example:65535",      "https://a-b.example:65535"],
    ["https://example.com",            "https://example.com"]
  ]';

  CALL hd_create_tenant(CONCAT('test-origins-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-origins-', v_sfx), v_a, v_app_uid);

  WHILE v_i < JSON_LENGTH(v_cases) DO
    SET v_in = JSON_VALUE(v_cases, CONCAT('$[', v_i, '][0]'));
    SET v_want = JSON_VALUE(v_cases, CONCAT('$[', v_i, '][1]'));
    CALL hd_add_allowed_origin(v_a, v_in);
    IF NOT EXISTS (SELECT 1 FROM app_origins WHERE app_id = v_a AND origin = v_want) THEN
      SET v_why = CONCAT('origin ', v_in, ' was not stored as ', v_want);
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_why;
    END IF;
    SET v_i = v_i + 1;
  END WHILE;

  -- 12 calls, 11 distinct origins: nothing stored but the canonical forms.
  IF NOT COALESCE((SELECT COUNT(*) FROM app_origins WHERE app_id = v_a) = 11, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'app_origins does not hold exactly the 11 canonical origins';
  END IF;
  IF (SELECT COUNT(*) FROM app_origins WHERE app_id = v_a AND CAST(origin AS BINARY) <> LOWER(origin)) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'an origin was stored with upper case';
  END IF;
END //
DELIMITER ;
