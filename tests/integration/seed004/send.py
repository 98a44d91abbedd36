import os
import requests

def send_push_notification(
    title: str,
    body: str,
    emails: list[str] = None,
    broadcast: bool = False
):
    payload = {
        'title': title,
        'body': body,
    }

    if broadcast:
        payload['target_all'] = True
    elif emails:
        payload['target_user_emails'] = emails

    response = requests.post(
        'https://api.cloudsignal.io/v2/push/send',
        headers={
            'Content-Type': 'application/json',
            'X-Secret-Key': os.environ['CLOUDSIGNAL_SECRET_KEY']
        },
        json=payload
    )

    response.raise_for_status()
    return response.json()

# Send to all users
send_push_notification(
    title='New Feature!',
    body='Check out our latest update',
    broadcast=True
)
