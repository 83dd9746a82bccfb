package upsim

import (
	"context"
	"net/http"
	"runtime"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// The token endpoint works with golang.org/x/oauth2 (expires_in is a string).
func TestOAuth2Compatibility(t *testing.T) {
	opts := baseOpts()
	opts.RotateRefreshToken = true
	s := NewServer(opts)
	defer s.Close()
	conf := &oauth2.Config{ClientID: testClientID, ClientSecret: testSecret,
		Endpoint: oauth2.Endpoint{TokenURL: s.URL() + tokenPath, AuthStyle: oauth2.AuthStyleInParams}}
	ts := conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: testRefresh})
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Expiry.After(time.Now()) || tok.RefreshToken == testRefresh || tok.Extra("geolocation") != s.URL() {
		t.Errorf("token %+v geolocation %v", tok, tok.Extra("geolocation"))
	}
	hc := oauth2.NewClient(context.Background(), ts)
	resp, err := hc.Get(s.URL() + "/profile/identity/v4/Users")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	opts := baseOpts()
	opts.AccessToken = "t"
	opts.Faults = Faults{Slow: 1, SlowDelay: time.Millisecond, DropAfterAccept: 1}
	s := NewServer(opts)
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, p := range []string{"/profile/identity/v4/Users", "/profile/v4/Bulk"} {
		req, _ := http.NewRequest("POST", s.URL()+p, nil)
		req.Header.Set("Authorization", "Bearer t")
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	s.Close()
	after := runtime.NumGoroutine()
	for i := 0; i < 2000 && after > before; i++ {
		time.Sleep(time.Millisecond)
		after = runtime.NumGoroutine()
	}
	if after > before {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d before, %d after Close\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}
