-- herald schema, migration 1: tenancy, keys, users, devices, messages, deliveries,
-- dedupe and rate limits. Identifiers that clients see (apps, users, devices) are
-- random public ids, so internal auto-increment ids never leak and cannot be guessed.
-- Ids stay unique across Galera nodes through auto_increment_offset. Text compares
-- with NO PAD collations: "a" and "a " are different ids (utf8mb4_bin would pad).

CREATE TABLE tenants (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name         VARCHAR(200) NOT NULL,
  created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE apps (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  uid              CHAR(36) NOT NULL,
  tenant_id        BIGINT UNSIGNED NOT NULL,
  name             VARCHAR(200) NOT NULL,
  push_enabled     TINYINT(1) NOT NULL DEFAULT 1,
  dedupe_window_s  INT UNSIGNED NOT NULL DEFAULT 600,
  quota_hourly     INT UNSIGNED NULL,
  quota_daily      INT UNSIGNED NULL,
  -- When set, device registration must carry user_hash = HMAC-SHA256(this, app_user_id)
  -- in hex, which only the app's backend can compute.
  identity_secret  VARBINARY(32) NULL,
  created_at       DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY apps_uid (uid),
  KEY apps_tenant (tenant_id),
  CONSTRAINT apps_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Origins allowed to register devices from a browser (CORS).
CREATE TABLE app_origins (
  app_id   BIGINT UNSIGNED NOT NULL,
  origin   VARCHAR(255) NOT NULL,
  PRIMARY KEY (app_id, origin),
  CONSTRAINT app_origins_app_fk FOREIGN KEY (app_id) REFERENCES apps (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Keys are stored only as SHA-256 of the plaintext; the kind fixes what a key can do.
CREATE TABLE api_keys (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  key_hash     BINARY(32) NOT NULL,
  kind         ENUM('server','secret','user_token','bearer','integration','client') NOT NULL,
  tenant_id    BIGINT UNSIGNED NOT NULL,
  app_id       BIGINT UNSIGNED NULL,
  app_user_id  BIGINT UNSIGNED NULL,
  label        VARCHAR(200) NULL,
  created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  revoked_at   DATETIME(6) NULL,
  UNIQUE KEY api_keys_hash (key_hash),
  KEY api_keys_tenant (tenant_id),
  CONSTRAINT api_keys_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id),
  CONSTRAINT api_keys_app_fk FOREIGN KEY (app_id) REFERENCES apps (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE app_users (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  uid          CHAR(32) NOT NULL,
  app_id       BIGINT UNSIGNED NOT NULL,
  external_id  VARCHAR(255) NOT NULL,
  email        VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_nopad_ci NULL,
  created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY app_users_uid (uid),
  UNIQUE KEY app_users_external (app_id, external_id),
  KEY app_users_email (app_id, email),
  CONSTRAINT app_users_app_fk FOREIGN KEY (app_id) REFERENCES apps (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- A device is unique per app by its token (web: its endpoint); token_hash keeps that
-- unique key small whatever the token's length.
CREATE TABLE devices (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  uid              CHAR(32) NOT NULL,
  app_id           BIGINT UNSIGNED NOT NULL,
  app_user_id      BIGINT UNSIGNED NOT NULL,
  platform         ENUM('ios','android','web','windows') NOT NULL,
  token            VARCHAR(2048) NOT NULL,
  token_hash       BINARY(32) NOT NULL,
  p256dh           VARCHAR(128) NULL,
  auth_secret      VARCHAR(64) NULL,
  status           ENUM('active','inactive','expired','unregistered') NOT NULL DEFAULT 'active',
  push_permission  TINYINT(1) NOT NULL DEFAULT 1,
  info             TEXT NULL,
  last_active_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  created_at       DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY devices_uid (uid),
  UNIQUE KEY devices_token (app_id, token_hash),
  KEY devices_user (app_user_id, status, push_permission),
  CONSTRAINT devices_app_fk FOREIGN KEY (app_id) REFERENCES apps (id),
  CONSTRAINT devices_user_fk FOREIGN KEY (app_user_id) REFERENCES app_users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The neutral message: what every dialect's send stores.
CREATE TABLE messages (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  app_id       BIGINT UNSIGNED NOT NULL,
  app_user_id  BIGINT UNSIGNED NULL,
  source       ENUM('developer','audience','inbox','legacy','webpush') NOT NULL,
  title        VARCHAR(1024) NULL,
  body         TEXT NULL,
  data         TEXT NULL,
  sound        VARCHAR(255) NULL,
  ttl_s        INT UNSIGNED NULL,
  priority     TINYINT UNSIGNED NOT NULL DEFAULT 5,
  schedule_at  DATETIME(6) NOT NULL,
  dedupe_key   VARCHAR(255) NULL,
  campaign     VARCHAR(255) NULL,
  created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY messages_app_created (app_id, created_at),
  CONSTRAINT messages_app_fk FOREIGN KEY (app_id) REFERENCES apps (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- One delivery per device. The worker claims by (state, priority, due_at) with leases.
CREATE TABLE deliveries (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  message_id       BIGINT UNSIGNED NOT NULL,
  device_id        BIGINT UNSIGNED NOT NULL,
  app_id           BIGINT UNSIGNED NOT NULL,
  state            ENUM('queued','sending','delivered','gone','rejected','expired') NOT NULL DEFAULT 'queued',
  priority         TINYINT UNSIGNED NOT NULL DEFAULT 5,
  due_at           DATETIME(6) NOT NULL,
  attempts         INT UNSIGNED NOT NULL DEFAULT 0,
  lease_until      DATETIME(6) NULL,
  provider_status  SMALLINT NULL,
  reason           VARCHAR(255) NULL,
  updated_at       DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  UNIQUE KEY deliveries_message_device (message_id, device_id),
  KEY deliveries_claim (state, priority, due_at),
  KEY deliveries_device (device_id),
  CONSTRAINT deliveries_message_fk FOREIGN KEY (message_id) REFERENCES messages (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Dedupe records: the primary key decides which of N concurrent requests wins.
CREATE TABLE dedupe (
  app_id       BIGINT UNSIGNED NOT NULL,
  dedupe_key   VARCHAR(255) NOT NULL,
  message_id   BIGINT UNSIGNED NOT NULL,
  push_count   INT UNSIGNED NOT NULL,
  target       VARCHAR(255) NOT NULL DEFAULT '',  -- the user as the first request named it
  created_at   DATETIME(6) NOT NULL,
  PRIMARY KEY (app_id, dedupe_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Deliveries charged against an app's quotas, per hour and per day (UTC windows).
-- Rows exist only for apps with a quota: the upsert in hd_queue_message decides.
CREATE TABLE quota_usage (
  app_id        BIGINT UNSIGNED NOT NULL,
  period        ENUM('hour','day') NOT NULL,
  window_start  DATETIME NOT NULL,
  used          INT UNSIGNED NOT NULL,
  PRIMARY KEY (app_id, period, window_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Per-client-address request counts for the current second (IPv6 per /64). MEMORY:
-- counts need no durability, and an InnoDB row here would be a hot row held across
-- every fsync. Its size is bounded by max_heap_table_size (16 MiB by default, some
-- 300,000 addresses); every FastCGI process deletes rows older than a few seconds.
CREATE TABLE rate_limit (
  addr   VARBINARY(16) NOT NULL PRIMARY KEY,
  sec    INT UNSIGNED NOT NULL,
  hits   INT UNSIGNED NOT NULL,
  KEY rate_limit_sec (sec) USING BTREE
) ENGINE=MEMORY;
