package cluster

import (
	"fmt"
	"strconv"
	"strings"
)

// fingerprintDenylist turns off Nomad's fingerprinters that need cloud
// metadata services, Consul or Vault. Without it a client on a machine with
// no cloud metadata service fails at start in the AWS fingerprinter
// ("failed to setup IMDS client"), seen with Nomad v2.0.6-dev.
const fingerprintDenylist = "env_aws,env_gce,env_azure,env_digitalocean,consul,vault"

// fingerprintDenylistWithConsul keeps the Consul fingerprinter on, because
// Nomad places a group with Consul services only on nodes that report
// attr.consul.version.
const fingerprintDenylistWithConsul = "env_aws,env_gce,env_azure,env_digitalocean,vault"

// ports holds one agent's loopback listening ports.
type ports struct {
	HTTP, RPC, Serf int
}

// serverConfig renders the HCL configuration of a single-node server agent.
func serverConfig(dataDir string, p ports, consulAddr string) string {
	var b strings.Builder
	writeCommon(&b, "server", dataDir, p, consulAddr)
	b.WriteString("server {\n  enabled          = true\n  bootstrap_expect = 1\n}\n")
	return b.String()
}

// clientConfig describes one client agent's configuration file.
type clientConfig struct {
	Name         string
	DataDir      string
	AllocDir     string
	PluginDir    string
	CgroupParent string
	CameraRoot   string
	ServerRPC    int
	Ports        ports
	// ConsulAddr is the Consul agent's HTTP address, host:port, or empty
	// for a client without Consul.
	ConsulAddr string
	// ClientHCL goes inside the client block; ExtraHCL at the top level.
	ClientHCL string
	ExtraHCL  string
}

// render returns the HCL configuration of a client agent that loads
// the video driver with one camera storage root.
func (c clientConfig) render() string {
	var b strings.Builder
	writeCommon(&b, c.Name, c.DataDir, c.Ports, c.ConsulAddr)
	fmt.Fprintf(&b, "plugin_dir = %s\n\n", quote(c.PluginDir))
	fmt.Fprintf(&b, `client {
  enabled           = true
  servers           = [%s]
  alloc_dir         = %s
  state_dir         = %s
  cgroup_parent     = %s
  network_interface = "lo"

  options {
    "fingerprint.denylist" = %s
  }
%s}

plugin "video" {
  config {
    camera_storage = [%s]
  }
}
%s`,
		quote("127.0.0.1:"+strconv.Itoa(c.ServerRPC)),
		quote(c.AllocDir),
		quote(c.DataDir+"/client"),
		quote(c.CgroupParent),
		quote(c.denylist()),
		indent(c.ClientHCL),
		quote(c.CameraRoot),
		c.ExtraHCL)
	return b.String()
}

func (c clientConfig) denylist() string {
	if c.ConsulAddr != "" {
		return fingerprintDenylistWithConsul
	}
	return fingerprintDenylist
}

// writeCommon writes the settings shared by server and client agents: name,
// data_dir, loopback addresses and ports, the Consul agent's address when
// consulAddr is set, and Vault turned off.
func writeCommon(b *strings.Builder, name, dataDir string, p ports, consulAddr string) {
	fmt.Fprintf(b, "name       = %s\n", quote(name))
	fmt.Fprintf(b, "data_dir   = %s\n", quote(dataDir))
	b.WriteString("bind_addr  = \"127.0.0.1\"\n")
	b.WriteString("log_level  = \"DEBUG\"\n")
	b.WriteString("leave_on_interrupt = true\n\n")
	b.WriteString("advertise {\n  http = \"127.0.0.1\"\n  rpc  = \"127.0.0.1\"\n  serf = \"127.0.0.1\"\n}\n\n")
	fmt.Fprintf(b, "ports {\n  http = %d\n  rpc  = %d\n  serf = %d\n}\n\n", p.HTTP, p.RPC, p.Serf)
	b.WriteString("consul {\n")
	if consulAddr != "" {
		fmt.Fprintf(b, "  address          = %s\n", quote(consulAddr))
	}
	b.WriteString("  client_auto_join = false\n  server_auto_join = false\n  auto_advertise   = false\n}\n\n")
	b.WriteString("vault {\n  enabled = false\n}\n\n")
}

// indent returns s with every line indented by two spaces and a final
// newline, or "" for an empty s.
func indent(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n"
}

// quote renders s as an HCL string literal.
func quote(s string) string {
	return strconv.Quote(s)
}
