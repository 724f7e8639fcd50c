// Package e2e holds adobot's end-to-end tests: the fake Slack (Socket Mode over a real
// WebSocket, driven by the real slack-go client), the fake Azure DevOps and identity
// provider, a real Redis, and one or more bot instances built by internal/app exactly
// as cmd/adobot builds them. Nothing is bypassed below the network.
package e2e
