// Node.js / Edge Functions
async function sendPushNotification(options) {
  const response = await fetch('https://api.cloudsignal.io/v2/push/send', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Secret-Key': process.env.CLOUDSIGNAL_SECRET_KEY
    },
    body: JSON.stringify({
      title: options.title,
      body: options.body,
      target_user_emails: options.emails,
      data: options.data
    })
  });

  if (!response.ok) {
    throw new Error(`Push failed: ${response.status}`);
  }

  return response.json();
}

// Send to specific users
await sendPushNotification({
  title: 'Order Shipped!',
  body: 'Your order #12345 is on its way',
  emails: ['customer@example.com'],
  data: { orderId: '12345', trackingUrl: 'https://...' }
});
