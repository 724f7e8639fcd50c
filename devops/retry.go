package devops

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"
)

// retryable: 429, 502, 503, 504 and transport errors, unless the context is done.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var rl *RateLimitError
	var er *ErrorResponse
	var te *transportError
	switch {
	case errors.As(err, &rl), errors.As(err, &te):
		return true
	case errors.As(err, &er):
		switch er.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
	}
	return false
}

func retryAfter(err error) time.Duration {
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return rl.RetryAfter
	}
	var er *ErrorResponse
	if errors.As(err, &er) {
		return er.RetryAfter
	}
	return 0
}

// backoff after failed attempt n (1-based): exponential from BaseBackoff with jitter
// in [d/2, d] so many clients throttled together do not come back together; at
// least the server's Retry-After; never more than MaxBackoff.
func (c *Client) backoff(n int, after time.Duration) time.Duration {
	d := c.baseBackoff
	for i := 1; i < n && d < c.maxBackoff; i++ {
		d *= 2
	}
	if d > c.maxBackoff {
		d = c.maxBackoff
	}
	d = d/2 + rand.N(d/2+1)
	if after > d {
		d = after
	}
	if d > c.maxBackoff {
		d = c.maxBackoff
	}
	return d
}

// wait sleeps d unless that would pass ctx's deadline or ctx ends first; it reports
// whether the caller should try again.
func (c *Client) wait(ctx context.Context, d time.Duration) bool {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
