# Send to specific users
curl -X POST https://api.cloudsignal.io/v2/push/send \
  -H "Content-Type: application/json" \
  -H "X-Secret-Key: $CLOUDSIGNAL_SECRET_KEY" \
  -d '{
    "title": "Password Reset",
    "body": "Click to reset your password",
    "target_user_emails": ["user@example.com"],
    "urgency": "high"
  }'

# Broadcast to all
curl -X POST https://api.cloudsignal.io/v2/push/broadcast \
  -H "Content-Type: application/json" \
  -H "X-Secret-Key: $CLOUDSIGNAL_SECRET_KEY" \
  -d '{
    "title": "Maintenance Notice",
    "body": "System maintenance at 2 AM UTC"
  }'

# Check quota
curl https://api.cloudsignal.io/v2/push/quota \
  -H "X-Secret-Key: $CLOUDSIGNAL_SECRET_KEY"
