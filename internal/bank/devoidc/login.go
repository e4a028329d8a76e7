package devoidc

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// login is the provider's login page: user name and password, then back to
// the library's authorization callback, which sends the code to the
// application.
type login struct {
	st       *storage
	callback func(context.Context, string) string
	// formAction is the CSP form-action source list: this provider and
	// the clients' redirect origins, since browsers apply it to the
	// redirects that follow the form's post too.
	formAction string
}

func formAction(clients []Client) string {
	out := []string{"'self'"}
	for _, c := range clients {
		for _, r := range c.RedirectURIs {
			if u, err := url.Parse(r); err == nil && u.Host != "" {
				if o := u.Scheme + "://" + u.Host; !slices.Contains(out, o) {
					out = append(out, o)
				}
			}
		}
	}
	return strings.Join(out, " ")
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · development identity provider</title></head>
<body>
<main>
<h1>Sign in</h1>
<p>Development identity provider of the vKYC engine.</p>
{{if .Error}}<p role="alert" id="login-error">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="id" value="{{.ID}}">
<p><label for="username">User name</label>
<input id="username" name="username" autocomplete="username" required autofocus value="{{.Username}}"></p>
<p><label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p>
</form>
<p>Users: {{range $i, $u := .Users}}{{if $i}}, {{end}}<code>{{$u}}</code>{{end}}.</p>
</main>
</body>
</html>
`))

type loginView struct {
	ID, Username, Error string
	Users               []string
}

func (l *login) render(w http.ResponseWriter, status int, v loginView) {
	l.st.mu.Lock()
	for id := range l.st.users {
		v.Users = append(v.Users, id)
	}
	l.st.mu.Unlock()
	sort.Strings(v.Users)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; form-action "+l.formAction+"; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, v)
}

func (l *login) page(w http.ResponseWriter, r *http.Request) {
	l.render(w, http.StatusOK, loginView{ID: r.URL.Query().Get("authRequestID")})
}

func (l *login) submit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		l.render(w, http.StatusBadRequest, loginView{Error: "The form could not be read."})
		return
	}
	id, user := r.PostForm.Get("id"), r.PostForm.Get("username")
	if err := l.st.checkLogin(id, user, r.PostForm.Get("password")); err != nil {
		l.render(w, http.StatusUnauthorized, loginView{ID: id, Username: user, Error: err.Error()})
		return
	}
	http.Redirect(w, r, l.callback(r.Context(), id), http.StatusFound)
}
