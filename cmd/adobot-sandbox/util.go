package main

import (
	"crypto/rand"
	"encoding/json"
)

// randomKey is a fresh TOKEN_ENCRYPTION_KEY for this sandbox run.
func randomKey() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
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
