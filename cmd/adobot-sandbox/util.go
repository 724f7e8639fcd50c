package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
)

// randomKey is a fresh TOKEN_ENCRYPTION_KEY for this sandbox run.
func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// homeBlocks pulls the blocks out of a published view.
func homeBlocks(view json.RawMessage) json.RawMessage {
	var v struct {
		Blocks json.RawMessage `json:"blocks"`
	}
	if json.Unmarshal(view, &v) != nil {
		return nil
	}
	return v.Blocks
}
