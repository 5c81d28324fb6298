package vsphere

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/ferry-video/ferry/plugins/hclspec"
)

// Defaults of the plugin config.
const (
	defaultFingerprintPeriod   = 30 * time.Second
	defaultMaxConcurrentClones = 4
	defaultRequestTimeout      = 30 * time.Second
	passwordEnv                = "VSPHERE_PASSWORD"
	guestPasswordEnv           = "VSPHERE_GUEST_PASSWORD"
)

// Stop modes of a task.
const (
	stopModeGuest    = "guest"
	stopModePowerOff = "poweroff"
)

// PluginConfig is the agent's `plugin "vsphere" { config { ... } }` block.
type PluginConfig struct {
	// URL is the vCenter SDK address, such as https://vcenter/sdk. Required.
	URL string `codec:"url"`
	// Username is the vCenter user. Required.
	Username string `codec:"username"`
	// PasswordFile is a file whose content (without a trailing newline) is
	// the password. When empty, the password comes from VSPHERE_PASSWORD.
	PasswordFile string `codec:"password_file"`
	// Insecure skips TLS certificate verification. Default false.
	Insecure bool `codec:"insecure"`
	// CAFile is a PEM file of CA certificates that vCenter's certificate
	// must chain to.
	CAFile string `codec:"ca_file"`
	// Datacenter is the default datacenter name. Default: the only one.
	Datacenter string `codec:"datacenter"`
	// Cluster is the default cluster. Clones go to its root resource pool.
	Cluster string `codec:"cluster"`
	// ResourcePool is the default resource pool path. Set either Cluster or
	// ResourcePool, not both.
	ResourcePool string `codec:"resource_pool"`
	// Folder is the default VM folder. Default: the datacenter's vm folder.
	Folder string `codec:"folder"`
	// Datastore is the default datastore. Default: the template's.
	Datastore string `codec:"datastore"`
	// Network is the default network of the first network card. Default:
	// the template's.
	Network string `codec:"network"`
	// GuestUsername is the guest account that exec runs commands as.
	GuestUsername string `codec:"guest_username"`
	// GuestPasswordFile holds that account's password. When empty, it
	// comes from VSPHERE_GUEST_PASSWORD.
	GuestPasswordFile string `codec:"guest_password_file"`
	// FingerprintPeriod is how often the driver checks vCenter and looks
	// for orphaned VMs, as a Go duration. Default "30s".
	FingerprintPeriod string `codec:"fingerprint_period"`
	// RequestTimeout bounds the TLS handshake, the login and each
	// fingerprint check, as a Go duration. Default "30s". Clone and power
	// tasks are not bounded by it.
	RequestTimeout string `codec:"request_timeout"`
	// MaxConcurrentClones limits clones in flight. Default 4.
	MaxConcurrentClones int `codec:"max_concurrent_clones"`
	// DestroyOrphans destroys VMs tagged by this driver for this node
	// whose task is unknown. Default false: they are only reported.
	DestroyOrphans bool `codec:"destroy_orphans"`

	fingerprintPeriod time.Duration
	requestTimeout    time.Duration
	password          string
	guestPassword     string
	url               *url.URL
	// clones limits clones in flight to MaxConcurrentClones.
	clones chan struct{}
}

var pluginConfigSpec = hclspec.Object(map[string]*hclspec.Spec{
	"url":                 hclspec.Attr("url", "string"),
	"username":            hclspec.Attr("username", "string"),
	"password_file":       hclspec.Attr("password_file", "string"),
	"insecure":            hclspec.Default(hclspec.Attr("insecure", "bool"), hclspec.Literal("false")),
	"ca_file":             hclspec.Attr("ca_file", "string"),
	"datacenter":          hclspec.Attr("datacenter", "string"),
	"cluster":             hclspec.Attr("cluster", "string"),
	"resource_pool":       hclspec.Attr("resource_pool", "string"),
	"folder":              hclspec.Attr("folder", "string"),
	"datastore":           hclspec.Attr("datastore", "string"),
	"network":             hclspec.Attr("network", "string"),
	"guest_username":      hclspec.Attr("guest_username", "string"),
	"guest_password_file": hclspec.Attr("guest_password_file", "string"),
	"fingerprint_period": hclspec.Default(
		hclspec.Attr("fingerprint_period", "string"), hclspec.Literal(`"30s"`)),
	"request_timeout": hclspec.Default(
		hclspec.Attr("request_timeout", "string"), hclspec.Literal(`"30s"`)),
	"max_concurrent_clones": hclspec.Default(
		hclspec.Attr("max_concurrent_clones", "number"), hclspec.Literal("4")),
	"destroy_orphans": hclspec.Default(hclspec.Attr("destroy_orphans", "bool"), hclspec.Literal("false")),
})

// configured reports whether the config names a vCenter. Nomad's first
// SetConfig call validates an empty block at agent start.
func (c *PluginConfig) configured() bool { return c.URL != "" }

// validate applies defaults, reads the password files and checks every
// field. Its errors never contain a password.
func (c *PluginConfig) validate() error {
	if c.FingerprintPeriod == "" {
		c.FingerprintPeriod = defaultFingerprintPeriod.String()
	}
	period, err := time.ParseDuration(c.FingerprintPeriod)
	if err != nil || period <= 0 {
		return fmt.Errorf("invalid fingerprint_period %q: use a positive Go duration such as \"30s\"", c.FingerprintPeriod)
	}
	c.fingerprintPeriod = period
	if c.RequestTimeout == "" {
		c.RequestTimeout = defaultRequestTimeout.String()
	}
	timeout, err := time.ParseDuration(c.RequestTimeout)
	if err != nil || timeout <= 0 {
		return fmt.Errorf("invalid request_timeout %q: use a positive Go duration such as \"30s\"", c.RequestTimeout)
	}
	c.requestTimeout = timeout
	if c.MaxConcurrentClones == 0 {
		c.MaxConcurrentClones = defaultMaxConcurrentClones
	}
	if c.MaxConcurrentClones < 0 {
		return fmt.Errorf("invalid max_concurrent_clones %d: use 1 or more", c.MaxConcurrentClones)
	}
	if !c.configured() {
		return nil
	}
	return c.validateConnection()
}

func (c *PluginConfig) validateConnection() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("invalid url %q: use https://HOST/sdk", redactURL(c.URL))
	}
	if u.User != nil {
		return fmt.Errorf("invalid url %q: put the user in username and the password in password_file, not in the url", redactURL(c.URL))
	}
	if u.Path == "" {
		u.Path = "/sdk"
	}
	c.url = u

	if c.Username == "" {
		return errors.New("missing username: set the vCenter user in the plugin config")
	}
	if c.Insecure && c.CAFile != "" {
		return errors.New("invalid config: set either insecure or ca_file, not both")
	}
	if err := checkCAFile(c.CAFile); err != nil {
		return err
	}
	if c.ResourcePool != "" && c.Cluster != "" {
		return errors.New("invalid config: set either cluster or resource_pool, not both")
	}

	c.password, err = readSecret("password_file", c.PasswordFile, passwordEnv)
	if err != nil {
		return err
	}
	if c.password == "" {
		return fmt.Errorf("missing password: set password_file or the %s environment variable", passwordEnv)
	}
	if c.GuestUsername != "" {
		c.guestPassword, err = readSecret("guest_password_file", c.GuestPasswordFile, guestPasswordEnv)
	}
	return err
}

// checkCAFile checks that file, when set, is readable and contains at
// least one PEM certificate.
func checkCAFile(file string) error {
	if file == "" {
		return nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("invalid ca_file %q: %w", file, err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		return fmt.Errorf("invalid ca_file %q: no PEM certificate found: set it to vCenter's CA certificate in PEM format", file)
	}
	return nil
}

// readSecret reads a password from file, or from the environment variable
// env when file is empty.
func readSecret(field, file, env string) (string, error) {
	if file == "" {
		return os.Getenv(env), nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("invalid %s %q: %w", field, file, err)
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}

// redactURL drops any user info from a URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	u.User = nil
	return u.String()
}

// TaskConfig is a task's `config { ... }` block.
type TaskConfig struct {
	// Template is the name or inventory path of the VM template to clone.
	// Set either Template or LibraryItem.
	Template string `codec:"template"`
	// LibraryItem is an OVF item of a vCenter content library to deploy,
	// written "LIBRARY/ITEM" with the library's name and the item's name,
	// like govc's "/LIBRARY/ITEM" (a leading slash is accepted). Set either
	// Template or LibraryItem.
	LibraryItem string `codec:"library_item"`
	library     string
	item        string
	// Datacenter, Folder, ResourcePool, Datastore and Network override the
	// plugin config for this task.
	Datacenter   string `codec:"datacenter"`
	Folder       string `codec:"folder"`
	ResourcePool string `codec:"resource_pool"`
	Datastore    string `codec:"datastore"`
	Network      string `codec:"network"`
	// CPUs is the number of virtual CPUs. Default: the task's cpu MHz /
	// 1000, rounded up, at least 1.
	CPUs int `codec:"cpus"`
	// MemoryMB is the VM's memory in MiB. Default: the task's memory.
	MemoryMB int `codec:"memory_mb"`
	// GuestInfo are extra guestinfo.* keys for the guest to read. Nomad's
	// client passes a map attribute of a task config as a list of maps,
	// as for the docker driver's labels, so validate merges the list into
	// guestInfo.
	GuestInfo []map[string]string `codec:"guestinfo"`
	guestInfo map[string]string
	// StopMode is "guest" (shut down through VMware Tools, then power off
	// after the kill timeout) or "poweroff". Default "guest".
	StopMode string `codec:"stop_mode"`
	// LinkedClone clones from the template's current snapshot. It does not
	// apply to library_item.
	LinkedClone bool `codec:"linked_clone"`
	// DiskGB grows the first disk to this size in GiB. Default 0 keeps the
	// template's size.
	DiskGB int `codec:"disk_gb"`
}

var taskConfigSpec = hclspec.Object(map[string]*hclspec.Spec{
	"template":      hclspec.Attr("template", "string"),
	"library_item":  hclspec.Attr("library_item", "string"),
	"datacenter":    hclspec.Attr("datacenter", "string"),
	"folder":        hclspec.Attr("folder", "string"),
	"resource_pool": hclspec.Attr("resource_pool", "string"),
	"datastore":     hclspec.Attr("datastore", "string"),
	"network":       hclspec.Attr("network", "string"),
	"cpus":          hclspec.Attr("cpus", "number"),
	"memory_mb":     hclspec.Attr("memory_mb", "number"),
	"guestinfo":     hclspec.Attr("guestinfo", "list(map(string))"),
	"stop_mode":     hclspec.Default(hclspec.Attr("stop_mode", "string"), hclspec.Literal(`"guest"`)),
	"linked_clone":  hclspec.Default(hclspec.Attr("linked_clone", "bool"), hclspec.Literal("false")),
	"disk_gb":       hclspec.Attr("disk_gb", "number"),
})

// validate applies the plugin defaults and the task's Nomad resources
// (cpuMHz, memoryMB) and checks every field.
func (t *TaskConfig) validate(p *PluginConfig, cpuMHz, memoryMB int64) error {
	if err := t.validateSource(); err != nil {
		return err
	}
	switch t.StopMode {
	case "":
		t.StopMode = stopModeGuest
	case stopModeGuest, stopModePowerOff:
	default:
		return fmt.Errorf("invalid stop_mode %q: use \"guest\" or \"poweroff\"", t.StopMode)
	}

	if t.CPUs < 0 || t.MemoryMB < 0 || t.DiskGB < 0 {
		return fmt.Errorf("invalid size (cpus %d, memory_mb %d, disk_gb %d): use positive numbers", t.CPUs, t.MemoryMB, t.DiskGB)
	}
	if t.CPUs == 0 {
		t.CPUs = max(1, int((cpuMHz+999)/1000))
	}
	if t.MemoryMB == 0 {
		t.MemoryMB = int(memoryMB)
	}

	t.guestInfo = make(map[string]string)
	for _, m := range t.GuestInfo {
		for key, value := range m {
			if err := validateGuestInfo(key, value); err != nil {
				return err
			}
			t.guestInfo[key] = value
		}
	}
	t.Datacenter = firstNonEmpty(t.Datacenter, p.Datacenter)
	t.Folder = firstNonEmpty(t.Folder, p.Folder)
	t.ResourcePool = firstNonEmpty(t.ResourcePool, p.ResourcePool)
	t.Datastore = firstNonEmpty(t.Datastore, p.Datastore)
	t.Network = firstNonEmpty(t.Network, p.Network)
	return nil
}

// reservedGuestInfoPrefix starts the guestinfo keys that the driver sets
// itself, such as guestinfo.ferry.task_id.
const reservedGuestInfoPrefix = "ferry."

// validateGuestInfo checks one guestinfo entry. A key may carry the
// "guestinfo." prefix or not. vCenter rejects values with newlines at
// power-on, so control characters are rejected here with the key named.
func validateGuestInfo(key, value string) error {
	name := strings.TrimPrefix(key, "guestinfo.")
	if name == "" || strings.ContainsFunc(name, func(r rune) bool {
		return !(r == '.' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9'))
	}) {
		return fmt.Errorf("invalid guestinfo key %q: use letters, digits, dots and underscores", key)
	}
	if strings.HasPrefix(name, reservedGuestInfoPrefix) {
		return fmt.Errorf("invalid guestinfo key %q: keys starting with %q are reserved for the driver's own tags, so choose another name", key, reservedGuestInfoPrefix)
	}
	if strings.ContainsFunc(value, unicode.IsControl) {
		return fmt.Errorf("invalid guestinfo value of key %q: remove newlines and other control characters, or encode the value, for example in base64", key)
	}
	return nil
}

// validateSource checks that exactly one of template and library_item is
// set and splits library_item into its library and item names.
func (t *TaskConfig) validateSource() error {
	hasTemplate := strings.TrimSpace(t.Template) != ""
	hasItem := strings.TrimSpace(t.LibraryItem) != ""
	switch {
	case hasTemplate && hasItem:
		return fmt.Errorf("invalid config: set either template (%q) or library_item (%q), not both", t.Template, t.LibraryItem)
	case !hasTemplate && !hasItem:
		return errors.New("missing template or library_item: set template to the VM template to clone, or library_item to a content library item as \"LIBRARY/ITEM\"")
	case hasTemplate:
		return nil
	}
	if t.LinkedClone {
		return fmt.Errorf("invalid linked_clone with library_item %q: linked clones need a template, so remove linked_clone", t.LibraryItem)
	}
	parts := strings.Split(strings.TrimPrefix(t.LibraryItem, "/"), "/")
	if len(parts) != 2 || strings.TrimSpace(parts[0]) == "" || strings.TrimSpace(parts[1]) == "" {
		return fmt.Errorf("invalid library_item %q: use \"LIBRARY/ITEM\", the content library's name and the item's name", t.LibraryItem)
	}
	t.library, t.item = parts[0], parts[1]
	return nil
}

// source names the template or library item in messages.
func (t *TaskConfig) source() string {
	if t.LibraryItem != "" {
		return fmt.Sprintf("library item %q", t.LibraryItem)
	}
	return fmt.Sprintf("template %q", t.Template)
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
