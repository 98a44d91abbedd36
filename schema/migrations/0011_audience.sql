-- herald schema, migration 11: what the audience dialect (seed 001, docs/audience.md)
-- adds for administrators: campaign statistics and the numeric user ids it names
-- users by.
--
--   * hd_campaign_stats: per app and campaign_tag (messages.campaign), the sends, the
--     devices they went to, how many were delivered, gone, rejected, expired or are
--     still pending, and the first and last send: the seed's "API Stats" report, as
--     hd_delivery_stats (0002) counts it.
--   * hd_campaign_failures: the same sends' failed deliveries by state and provider
--     reason ("failed by reason").
--   * hd_audience_devices: each device with its app's public id, its user's numeric id
--     (devtodevId; app_users.id) and external id (userId), and the advertising and
--     vendor identifiers it registered.
--   * messages_app_campaign: the index the campaign views group on.
--
-- Conventions are 0002_admin.sql's. Safe to apply again.

SET NAMES utf8mb4;

ALTER TABLE messages ADD INDEX IF NOT EXISTS messages_app_campaign (app_id, campaign, created_at);

-- The seed's names over hd_delivery_stats (0002), campaigns only: its counts are
-- already per app and campaign.
CREATE OR REPLACE VIEW hd_campaign_stats AS
SELECT app_id,
       app_uid,
       campaign,
       messages AS sends,
       deliveries AS devices,
       delivered,
       gone,
       rejected,
       expired,
       pending,
       first_message_at AS first_send,
       last_message_at AS last_send
  FROM hd_delivery_stats
 WHERE campaign IS NOT NULL;

CREATE OR REPLACE VIEW hd_campaign_failures AS
SELECT m.app_id,
       a.uid AS app_uid,
       m.campaign,
       dl.state,
       COALESCE(dl.reason, '') AS reason,
       COUNT(*) AS deliveries
  FROM messages m
  JOIN apps a ON a.id = m.app_id
  JOIN deliveries dl ON dl.message_id = m.id
 WHERE m.campaign IS NOT NULL AND dl.state IN ('gone', 'rejected', 'expired')
 GROUP BY m.app_id, a.uid, m.campaign, dl.state, COALESCE(dl.reason, '');

CREATE OR REPLACE VIEW hd_audience_devices AS
SELECT d.uid AS device_uid,
       a.uid AS app_uid,
       d.app_id,
       u.id AS devtodev_id,
       u.external_id AS user_id,
       d.platform,
       d.status,
       d.push_permission,
       d.idfa,
       d.idfv,
       d.advertising_id,
       d.android_id,
       d.serial_id
  FROM devices d
  JOIN apps a ON a.id = d.app_id
  JOIN app_users u ON u.id = d.app_user_id;
