package config

import (
	"fmt"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/vkyc-engine/vkyc/internal/platform/codec"
)

// TemporalClientOptions returns the Temporal client options: the SDK's
// profile (config file, TLS, API key, gRPC metadata, as read by Load) with our
// address and namespace on top.
func (c Config) TemporalClientOptions() (client.Options, error) {
	opts, err := c.temporalProfile.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return client.Options{}, fmt.Errorf("config: Temporal client options (TEMPORAL_TLS_* / TEMPORAL_API_KEY): %w", err)
	}
	opts.HostPort = c.Temporal.Address
	opts.Namespace = c.Temporal.Namespace
	if c.Codec.Keys != nil {
		// Payloads are sealed before they leave the process (internal/platform/codec).
		opts.DataConverter = codec.DataConverter(c.Codec.Keys)
	}
	// The SDK gzips every request by default. Next to the Temporal server
	// that is CPU for nothing: in the benchmarks, compressing and
	// decompressing was about a tenth of the worker's CPU.
	opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	if c.Temporal.GRPCCompression == "gzip" {
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionGzip{}
	}
	return opts, nil
}

// temporalLookup serves the SDK only the variables we document, read through
// the same environment as everything else.
type temporalLookup struct{ env environment }

func (l temporalLookup) LookupEnv(name string) (string, bool) {
	if !isTemporalSDKVariable(name) {
		return "", false
	}
	v := l.env.get(name)
	return v, v != ""
}

func (l temporalLookup) Environ() []string {
	var out []string
	for _, kv := range l.env.environ() {
		if strings.HasPrefix(kv, TemporalGRPCMetaPrefix) {
			out = append(out, kv)
		}
	}
	return out
}

func isTemporalSDKVariable(name string) bool {
	if name == EnvTemporalAddress || name == EnvTemporalNamespace {
		return true
	}
	for _, v := range temporalSDKVariables {
		if v.Name == name {
			return true
		}
	}
	return false
}

// loadTemporal reads the Temporal profile the way the SDK's envconfig does
// (config file, then the profile, then TEMPORAL_* variables over it), step by
// step so each failure names its variable. An address or namespace from the
// config file wins over our defaults; TEMPORAL_ADDRESS/NAMESPACE win over
// both.
func (l *loader) loadTemporal(c *Config, e environment) {
	lookup := temporalLookup{env: e}
	get := func(name string) string { return strings.TrimSpace(e.get(name)) }
	for _, name := range []string{"TEMPORAL_TLS", "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"} {
		// The SDK silently ignores a value it cannot parse; a typo in a TLS
		// switch must not go unnoticed.
		if v := get(name); v != "" {
			switch strings.ToLower(v) {
			case "1", "0", "true", "false":
			default:
				l.fail(name, "%q is not a boolean (use true or false)", v)
			}
		}
	}
	file := get("TEMPORAL_CONFIG_FILE")
	if file != "" {
		// The SDK treats a missing file as no file; a path given explicitly
		// that does not exist is a mistake.
		if _, err := os.Stat(file); err != nil {
			l.fail("TEMPORAL_CONFIG_FILE", "%v", err)
			return
		}
	}
	conf, err := envconfig.LoadClientConfig(envconfig.LoadClientConfigOptions{ConfigFilePath: file, EnvLookup: lookup})
	if err != nil {
		l.fail("TEMPORAL_CONFIG_FILE", "%v", err)
		return
	}
	var prof envconfig.ClientConfigProfile
	name := get("TEMPORAL_PROFILE")
	if p := conf.Profiles[profileOrDefault(name)]; p != nil {
		prof = *p
	} else if name != "" && name != envconfig.DefaultConfigFileProfile {
		l.fail("TEMPORAL_PROFILE", "profile %q is not in the Temporal config file", name)
		return
	}
	if err := prof.ApplyEnvVars(lookup); err != nil {
		l.fail("TEMPORAL_*", "%v", err)
		return
	}
	c.temporalProfile = prof
	// The profile holds TEMPORAL_ADDRESS/NAMESPACE when they are set, else
	// the config file's values; the tags' defaults are left otherwise.
	if prof.Address != "" {
		c.Temporal.Address = prof.Address
	}
	if prof.Namespace != "" {
		c.Temporal.Namespace = prof.Namespace
	}
}

func profileOrDefault(name string) string {
	if name == "" {
		return envconfig.DefaultConfigFileProfile
	}
	return name
}
