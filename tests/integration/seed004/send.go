package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
)

type PushRequest struct {
	Title            string   `json:"title"`
	Body             string   `json:"body"`
	TargetAll        bool     `json:"target_all,omitempty"`
	TargetUserEmails []string `json:"target_user_emails,omitempty"`
}

func sendPushNotification(req PushRequest) error {
	body, _ := json.Marshal(req)

	r, _ := http.NewRequest("POST",
		"https://api.cloudsignal.io/v2/push/send",
		bytes.NewBuffer(body))

	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Secret-Key", os.Getenv("CLOUDSIGNAL_SECRET_KEY"))

	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	return nil
}
