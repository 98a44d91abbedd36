-- herald schema, migration 12: the inbox dialect (seed 002, docs/inbox.md).
--
--   * inbox_settings: per app, the inbox subscription switch (POST /notifications
--     answers 403 subscription.required without it) and the retention of inbox items.
--   * inbox_activities: the activities of an app user, which a notification may name
--     by slug (activity_slug); created and listed in SQL.
--   * Request-path procedures of the inbox program: hd_inbox_check, hd_inbox_list,
--     hd_inbox_get, hd_inbox_mark, hd_inbox_delete, hd_inbox_outcome. Each names the
--     caller's app user, so no call can reach another user's inbox.
--   * hd_inbox_stats: inbox volume and read rates per app.
--   * hd_purge_inbox: removes inbox items older than their app's retention, and the
--     inbox messages no inbox holds any more once their deliveries are final.
--
-- The notification itself is a messages row (source 'inbox') stored by
-- hd_send_targets (0010) with an inbox_items row; what only the inbox shows (level,
-- source, media type, metadata, the actions' options, activity slug, pushed) is kept
-- in messages.extras under "inbox". The APNs collapse id is never stored.
--
-- Conventions are 0002_admin.sql's. Safe to apply again.

SET NAMES utf8mb4;
SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION,NO_AUTO_CREATE_USER';

-- No row: no subscription, items kept until their users delete them.
CREATE TABLE IF NOT EXISTS inbox_settings (
  app_id               BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  subscription_active  TINYINT(1) NOT NULL DEFAULT 0,
  retention_days       INT UNSIGNED NULL,
  updated_at           DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  CONSTRAINT inbox_settings_app_fk FOREIGN KEY (app_id) REFERENCES apps (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS inbox_activities (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  app_user_id  BIGINT UNSIGNED NOT NULL,
  app_id       BIGINT UNSIGNED NOT NULL,
  slug         VARCHAR(128) NOT NULL,
  name         VARCHAR(255) NOT NULL,
  created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY inbox_activities_slug (app_user_id, slug),
  CONSTRAINT inbox_activities_user_fk FOREIGN KEY (app_user_id) REFERENCES app_users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;


DELIMITER //

-- hd_set_inbox_subscription: switches the inbox subscription of app p_app_id on (1)
-- or off (0). POST /notifications needs it on.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_set_inbox_subscription(IN p_app_id BIGINT UNSIGNED,
                                                      IN p_active TINYINT)
  MODIFIES SQL DATA
BEGIN
  CALL hd_internal_require_app('hd_set_inbox_subscription', p_app_id);
  IF p_active IS NULL OR p_active NOT IN (0, 1) THEN
    CALL hd_internal_fail('hd_set_inbox_subscription: active must be 0 or 1');
  END IF;
  INSERT INTO inbox_settings (app_id, subscription_active) VALUES (p_app_id, p_active)
    ON DUPLICATE KEY UPDATE subscription_active = VALUES(subscription_active);
END //

-- hd_set_inbox_retention: inbox items of app p_app_id older than p_days days
-- (1..36500) are removed by hd_purge_inbox; NULL keeps them until deleted.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_set_inbox_retention(IN p_app_id BIGINT UNSIGNED,
                                                   IN p_days INT)
  MODIFIES SQL DATA
BEGIN
  CALL hd_internal_require_app('hd_set_inbox_retention', p_app_id);
  IF p_days IS NOT NULL AND (p_days < 1 OR p_days > 36500) THEN
    CALL hd_internal_fail(CONCAT('hd_set_inbox_retention: days must be 1..36500 or NULL, not ', p_days));
  END IF;
  INSERT INTO inbox_settings (app_id, retention_days) VALUES (p_app_id, p_days)
    ON DUPLICATE KEY UPDATE retention_days = VALUES(retention_days);
END //

-- hd_create_activity: creates activity p_slug (1..128 characters of letters, digits,
-- '-', '_', '.') named p_name for the app user p_app_user_id; an existing slug of that
-- user is renamed instead (as re-creating an activity is in the reference API).
-- Returns: p_activity_id.
CREATE OR REPLACE PROCEDURE hd_create_activity(IN p_app_user_id BIGINT UNSIGNED,
                                               IN p_slug VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
                                               IN p_name VARCHAR(255) CHARACTER SET utf8mb4,
                                               OUT p_activity_id BIGINT UNSIGNED)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_app BIGINT UNSIGNED;
  SET v_app = (SELECT app_id FROM app_users WHERE id = p_app_user_id);
  IF v_app IS NULL THEN
    CALL hd_internal_fail(CONCAT('hd_create_activity: unknown app user ', IFNULL(p_app_user_id, 'NULL')));
  END IF;
  IF p_slug IS NULL OR p_slug NOT RLIKE '^[A-Za-z0-9._-]{1,128}$' THEN
    CALL hd_internal_fail('hd_create_activity: slug must be 1..128 letters, digits, ".", "_" or "-"');
  END IF;
  IF p_name IS NULL OR TRIM(p_name) = '' THEN
    CALL hd_internal_fail('hd_create_activity: name must not be empty');
  END IF;
  INSERT INTO inbox_activities (app_user_id, app_id, slug, name)
    VALUES (p_app_user_id, v_app, p_slug, TRIM(p_name))
    ON DUPLICATE KEY UPDATE name = VALUES(name), id = LAST_INSERT_ID(id);
  SET p_activity_id = LAST_INSERT_ID();
END //

-- hd_list_activities: the activities of app user p_app_user_id, by slug.
-- Returns: rows (id, slug, name, created_at).
CREATE OR REPLACE PROCEDURE hd_list_activities(IN p_app_user_id BIGINT UNSIGNED)
  READS SQL DATA
BEGIN
  SELECT id, slug, name, created_at FROM inbox_activities
   WHERE app_user_id = p_app_user_id ORDER BY slug;
END //

-- hd_inbox_check: what POST /notifications needs to know before it stores anything:
-- whether app p_app_id has an active inbox subscription, and whether p_slug (NULL:
-- none asked) is an activity of app user p_app_user_id.
-- Returns: one row (subscription_active 0/1, activity_found 0/1).
CREATE OR REPLACE PROCEDURE hd_inbox_check(IN p_app_id BIGINT UNSIGNED,
                                           IN p_app_user_id BIGINT UNSIGNED,
                                           IN p_slug VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin)
  READS SQL DATA
BEGIN
  SELECT COALESCE((SELECT subscription_active FROM inbox_settings WHERE app_id = p_app_id), 0),
         p_slug IS NOT NULL AND EXISTS (SELECT 1 FROM inbox_activities
                                         WHERE app_user_id = p_app_user_id AND slug = p_slug);
END //

-- The columns every read below returns for one inbox item.
--   message_id, title, body, extras, created_at (RFC 3339 UTC, seconds),
--   read_at (RFC 3339 UTC or NULL)

-- hd_inbox_list: one page of app user p_app_user_id's inbox, newest first: items
-- with message id below p_before (NULL: from the newest), only unread ones when
-- p_unread, at most p_limit (1..101) rows. Ids only grow, so a page that starts below
-- a given id never sees items stored after the previous page was read: paging by the
-- last id skips and repeats nothing while notifications arrive.
-- Returns: rows (the item columns).
CREATE OR REPLACE PROCEDURE hd_inbox_list(IN p_app_user_id BIGINT UNSIGNED,
                                          IN p_before BIGINT UNSIGNED,
                                          IN p_unread TINYINT,
                                          IN p_limit INT)
  READS SQL DATA
BEGIN
  IF p_limit IS NULL OR p_limit < 1 OR p_limit > 101 THEN
    CALL hd_internal_fail('hd_inbox_list: limit must be 1..101');
  END IF;
  SELECT i.message_id, m.title, m.body, m.extras,
         DATE_FORMAT(i.created_at, '%Y-%m-%dT%H:%i:%sZ'),
         DATE_FORMAT(i.read_at, '%Y-%m-%dT%H:%i:%sZ')
    FROM inbox_items i JOIN messages m ON m.id = i.message_id
   WHERE i.app_user_id = p_app_user_id
     AND (p_before IS NULL OR i.message_id < p_before)
     AND (NOT p_unread OR i.read_at IS NULL)
   ORDER BY i.message_id DESC
   LIMIT p_limit;
END //

-- hd_inbox_get: item p_message_id of app user p_app_user_id's inbox.
-- Returns: zero or one row (the item columns).
CREATE OR REPLACE PROCEDURE hd_inbox_get(IN p_app_user_id BIGINT UNSIGNED,
                                         IN p_message_id BIGINT UNSIGNED)
  READS SQL DATA
BEGIN
  SELECT i.message_id, m.title, m.body, m.extras,
         DATE_FORMAT(i.created_at, '%Y-%m-%dT%H:%i:%sZ'),
         DATE_FORMAT(i.read_at, '%Y-%m-%dT%H:%i:%sZ')
    FROM inbox_items i JOIN messages m ON m.id = i.message_id
   WHERE i.app_user_id = p_app_user_id AND i.message_id = p_message_id;
END //

-- hd_inbox_mark: marks item p_message_id of app user p_app_user_id read (p_read 1;
-- an item read before keeps its first read time) or unread (0).
-- Returns: zero or one row (the item columns, as now stored).
CREATE OR REPLACE PROCEDURE hd_inbox_mark(IN p_app_user_id BIGINT UNSIGNED,
                                          IN p_message_id BIGINT UNSIGNED,
                                          IN p_read TINYINT)
  MODIFIES SQL DATA
BEGIN
  UPDATE inbox_items SET read_at = IF(p_read, COALESCE(read_at, UTC_TIMESTAMP(6)), NULL)
   WHERE app_user_id = p_app_user_id AND message_id = p_message_id;
  CALL hd_inbox_get(p_app_user_id, p_message_id);
END //

-- hd_inbox_delete: removes item p_message_id from app user p_app_user_id's inbox.
-- Returns: one row (deleted 0/1).
CREATE OR REPLACE PROCEDURE hd_inbox_delete(IN p_app_user_id BIGINT UNSIGNED,
                                            IN p_message_id BIGINT UNSIGNED)
  MODIFIES SQL DATA
BEGIN
  DELETE FROM inbox_items WHERE app_user_id = p_app_user_id AND message_id = p_message_id;
  SELECT ROW_COUNT();
END //

-- hd_inbox_outcome: the push outcome of message p_message_id for app user
-- p_app_user_id: its deliveries by state, and the user's active devices with and
-- without push permission.
-- Returns: one row (deliveries, delivered, in_flight (sending: a worker has it now),
-- failed (gone, rejected, expired; queued ones wait for a retry), permitted_devices,
-- unpermitted_devices).
CREATE OR REPLACE PROCEDURE hd_inbox_outcome(IN p_app_user_id BIGINT UNSIGNED,
                                             IN p_message_id BIGINT UNSIGNED)
  READS SQL DATA
BEGIN
  SELECT COUNT(d.id), COALESCE(SUM(d.state = 'delivered'), 0),
         COALESCE(SUM(d.state = 'sending'), 0),
         COALESCE(SUM(d.state IN ('gone', 'rejected', 'expired')), 0),
         (SELECT COUNT(*) FROM devices WHERE app_user_id = p_app_user_id
             AND status = 'active' AND push_permission = 1),
         (SELECT COUNT(*) FROM devices WHERE app_user_id = p_app_user_id
             AND status = 'active' AND push_permission = 0)
    FROM deliveries d WHERE d.message_id = p_message_id;
END //

-- hd_purge_inbox: for every app with a retention, deletes its inbox items created
-- more than retention_days ago; then deletes inbox messages (source 'inbox') that no
-- inbox holds any more (expired or deleted by their users) and whose deliveries are
-- all final, with those deliveries. Batches of p_batch rows (1..100000), each
-- committed on its own; call it outside a transaction.
-- Returns: one row (items_deleted, messages_deleted).
CREATE OR REPLACE PROCEDURE hd_purge_inbox(IN p_batch INT)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_done TINYINT DEFAULT 0;
  DECLARE v_app BIGINT UNSIGNED;
  DECLARE v_days INT UNSIGNED;
  DECLARE v_n INT;
  DECLARE v_items BIGINT UNSIGNED DEFAULT 0;
  DECLARE v_messages BIGINT UNSIGNED DEFAULT 0;
  DECLARE c_apps CURSOR FOR
    SELECT app_id, retention_days FROM inbox_settings WHERE retention_days IS NOT NULL;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_done = 1;

  IF p_batch IS NULL OR p_batch < 1 OR p_batch > 100000 THEN
    CALL hd_internal_fail('hd_purge_inbox: batch must be 1..100000');
  END IF;
  IF @@in_transaction THEN
    CALL hd_internal_fail('hd_purge_inbox: call it outside a transaction (it commits batch by batch)');
  END IF;

  OPEN c_apps;
  app_loop: LOOP
    FETCH c_apps INTO v_app, v_days;
    IF v_done THEN
      LEAVE app_loop;
    END IF;
    REPEAT
      DELETE FROM inbox_items
       WHERE app_id = v_app AND created_at < UTC_TIMESTAMP(6) - INTERVAL v_days DAY
       LIMIT p_batch;
      SET v_n = ROW_COUNT();
      SET v_items = v_items + v_n;
      COMMIT;
    UNTIL v_n < p_batch END REPEAT;
  END LOOP;
  CLOSE c_apps;

  DROP TEMPORARY TABLE IF EXISTS hd_purge_inbox_batch;
  CREATE TEMPORARY TABLE hd_purge_inbox_batch (
    id BIGINT UNSIGNED NOT NULL PRIMARY KEY
  ) ENGINE=MEMORY;
  REPEAT
    DELETE FROM hd_purge_inbox_batch;
    INSERT INTO hd_purge_inbox_batch (id)
      SELECT m.id FROM messages m
       WHERE m.source = 'inbox'
         AND NOT EXISTS (SELECT 1 FROM inbox_items i WHERE i.message_id = m.id)
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id
                            AND d.state IN ('queued', 'sending'))
         AND NOT EXISTS (SELECT 1 FROM dedupe x WHERE x.message_id = m.id)
       LIMIT p_batch;
    SET v_n = ROW_COUNT();
    START TRANSACTION;
    DELETE d FROM deliveries d JOIN hd_purge_inbox_batch b ON b.id = d.message_id;
    DELETE m FROM messages m JOIN hd_purge_inbox_batch b ON b.id = m.id
     WHERE NOT EXISTS (SELECT 1 FROM inbox_items i WHERE i.message_id = m.id);
    SET v_messages = v_messages + ROW_COUNT();
    COMMIT;
  UNTIL v_n < p_batch END REPEAT;
  DROP TEMPORARY TABLE IF EXISTS hd_purge_inbox_batch;
  SELECT v_items AS items_deleted, v_messages AS messages_deleted;
END //

DELIMITER ;

-- Inbox volume and read rates per app: items held now, read and unread, the share
-- read, and items stored in the last 24 hours.
CREATE OR REPLACE VIEW hd_inbox_stats AS
SELECT a.id AS app_id, a.uid AS app_uid, a.name AS app_name,
       COUNT(i.message_id) AS items,
       COALESCE(SUM(i.read_at IS NOT NULL), 0) AS items_read,
       COALESCE(SUM(i.read_at IS NULL AND i.message_id IS NOT NULL), 0) AS items_unread,
       IF(COUNT(i.message_id) = 0, NULL,
          ROUND(SUM(i.read_at IS NOT NULL) / COUNT(i.message_id), 4)) AS read_rate,
       COALESCE(SUM(i.created_at >= UTC_TIMESTAMP(6) - INTERVAL 1 DAY), 0) AS items_last_24h,
       COUNT(DISTINCT i.app_user_id) AS users
  FROM apps a LEFT JOIN inbox_items i ON i.app_id = a.id
 GROUP BY a.id, a.uid, a.name;
