package main

// The seed's Go example defines sendPushNotification and no main: this is the
// caller, the example itself (send.go) is the seed's text.

import (
	"fmt"
	"os"
)

func main() {
	err := sendPushNotification(PushRequest{Title: "From Go", Body: "Hello from Go",
		TargetUserEmails: []string{"user@example.com"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
