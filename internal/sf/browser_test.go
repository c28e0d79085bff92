package sf

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
)

const chromiumPath = "/usr/bin/chromium"

// TestWebServerFlowRealBrowser drives the web-server flow with Debian's
// chromium, headless: it opens the authorize URL, the emulator's login page
// is filled in and submitted through the DevTools protocol, and the browser
// follows the redirect to the loopback callback.
func TestWebServerFlowRealBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is missing; .ci/run installs it (apt-get install -y chromium)")
		}
		t.Skip("chromium not installed (apt-get install -y chromium)")
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	e := newEnv(t, sfemu.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	profile := t.TempDir()

	var cmd *exec.Cmd
	browserErr := make(chan error, 1)
	open := func(authURL string) error {
		cmd = exec.CommandContext(ctx, chromiumPath, "--headless", "--no-sandbox", "--disable-gpu",
			"--disable-background-networking", "--no-first-run", "--disable-dev-shm-usage",
			"--user-data-dir="+profile, "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", authURL)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			return err
		}
		go func() { browserErr <- fillLoginForm(ctx, profile) }()
		return nil
	}
	defer func() {
		if cmd != nil && cmd.Process != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	res, err := LoginLoopback(ctx, e.cfg, open, io.Discard)
	if err != nil {
		select {
		case berr := <-browserErr:
			t.Fatalf("login: %v (browser: %v)", err, berr)
		default:
			t.Fatalf("login: %v", err)
		}
	}
	if res.User.Username != sfemu.Username || res.InstanceURL != e.srv.URL {
		t.Fatalf("result %+v", res)
	}
	if tok := e.stored(); tok.RefreshToken == "" {
		t.Fatal("no refresh token stored")
	}
}

// fillLoginForm waits for chromium's DevTools endpoint, attaches to the
// page and submits the emulator's login form.
func fillLoginForm(ctx context.Context, profile string) error {
	var port string
	for port == "" {
		b, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort"))
		if err == nil {
			port = strings.SplitN(string(b), "\n", 2)[0]
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	var wsURL string
	for wsURL == "" {
		resp, err := hc.Get("http://127.0.0.1:" + port + "/json/list")
		if err == nil {
			var targets []struct{ Type, URL, WebSocketDebuggerURL string }
			json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
			for _, tg := range targets {
				if tg.Type == "page" && strings.Contains(tg.URL, "/services/oauth2/authorize") {
					wsURL = tg.WebSocketDebuggerURL
				}
			}
		}
		if wsURL == "" {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	ws, err := dialWS(ctx, wsURL)
	if err != nil {
		return err
	}
	defer ws.Close()
	js := fmt.Sprintf(`(function(){var p=document.getElementById('password');if(!p)return 'wait';`+
		`document.getElementById('username').value=%q;p.value=%q;document.getElementById('oaapprove').click();return 'ok'})()`,
		sfemu.Username, sfemu.Password)
	for id := 1; ; id++ {
		v, err := ws.evaluate(id, js)
		if err != nil {
			return err
		}
		if v == "ok" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// wsConn is the smallest WebSocket client the DevTools protocol needs
// (RFC 6455: masked text frames out, unmasked frames in).
type wsConn struct {
	net.Conn
	r *bufio.Reader
}

func dialWS(ctx context.Context, raw string) (*wsConn, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	key := make([]byte, 16)
	rand.Read(key)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.RequestURI(), u.Host, base64.StdEncoding.EncodeToString(key))
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return nil, fmt.Errorf("websocket handshake: %s", resp.Status)
	}
	return &wsConn{Conn: conn, r: r}, nil
}

func (c *wsConn) send(msg []byte) error {
	hdr := []byte{0x81}
	switch n := len(msg); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	mask := make([]byte, 4)
	rand.Read(mask)
	hdr = append(hdr, mask...)
	out := make([]byte, len(msg))
	for i := range msg {
		out[i] = msg[i] ^ mask[i%4]
	}
	_, err := c.Write(append(hdr, out...))
	return err
}

func (c *wsConn) recv() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.r, h[:]); err != nil {
			return nil, err
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(c.r, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(c.r, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(c.r, payload); err != nil {
			return nil, err
		}
		op := h[0] & 0x0f
		if op == 8 {
			return nil, errors.New("websocket closed")
		}
		if op == 0 || op == 1 || op == 2 {
			msg = append(msg, payload...)
			if h[0]&0x80 != 0 {
				return msg, nil
			}
		}
	}
}

// evaluate runs Runtime.evaluate and returns the string result.
func (c *wsConn) evaluate(id int, expr string) (string, error) {
	req, _ := json.Marshal(map[string]any{"id": id, "method": "Runtime.evaluate",
		"params": map[string]any{"expression": expr, "returnByValue": true}})
	if err := c.send(req); err != nil {
		return "", err
	}
	for {
		b, err := c.recv()
		if err != nil {
			return "", err
		}
		var resp struct {
			ID     int `json:"id"`
			Result struct {
				Result struct {
					Value any `json:"value"`
				} `json:"result"`
			} `json:"result"`
		}
		if json.Unmarshal(b, &resp) == nil && resp.ID == id {
			s, _ := resp.Result.Result.Value.(string)
			return s, nil
		}
	}
}
