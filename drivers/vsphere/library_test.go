package vsphere

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
	_ "github.com/vmware/govmomi/vapi/simulator" // serves the REST API in vcsim
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/zclconf/go-cty/cty"
)

const (
	testLibrary = "apps"
	testItem    = "appliance"
)

// createLibrary creates the local content library testLibrary on
// LocalDS_0 with the OVF item testItem from testdata/appliance.ovf and an
// ISO item "installer" without files.
func (e *simEnv) createLibrary() {
	e.t.Helper()
	ctx := context.Background()
	rc := rest.NewClient(e.client.Client)
	if err := rc.Login(ctx, url.UserPassword(testUser, testPassword)); err != nil {
		e.t.Fatalf("log in to the REST API: %v", err)
	}
	defer rc.Logout(ctx)
	m := library.NewManager(rc)

	ds, err := find.NewFinder(e.client.Client).Datastore(ctx, "/DC0/datastore/LocalDS_0")
	if err != nil {
		e.t.Fatalf("find datastore: %v", err)
	}
	libID, err := m.CreateLibrary(ctx, library.Library{
		Name:    testLibrary,
		Type:    "LOCAL",
		Storage: []library.StorageBacking{{DatastoreID: ds.Reference().Value, Type: "DATASTORE"}},
	})
	if err != nil {
		e.t.Fatalf("create library: %v", err)
	}
	if _, err := m.CreateLibraryItem(ctx, library.Item{Name: "installer", Type: "iso", LibraryID: libID}); err != nil {
		e.t.Fatalf("create ISO item: %v", err)
	}
	itemID, err := m.CreateLibraryItem(ctx, library.Item{Name: testItem, Type: library.ItemTypeOVF, LibraryID: libID})
	if err != nil {
		e.t.Fatalf("create OVF item: %v", err)
	}
	e.uploadOVF(ctx, rc, m, itemID)
}

// uploadOVF uploads testdata/appliance.ovf to a library item.
func (e *simEnv) uploadOVF(ctx context.Context, rc *rest.Client, m *library.Manager, itemID string) {
	e.t.Helper()
	data, err := os.ReadFile("testdata/appliance.ovf")
	if err != nil {
		e.t.Fatal(err)
	}
	session, err := m.CreateLibraryItemUpdateSession(ctx, library.Session{LibraryItemID: itemID})
	if err != nil {
		e.t.Fatalf("create update session: %v", err)
	}
	file, err := m.AddLibraryItemFile(ctx, session, library.UpdateFile{Name: "appliance.ovf", SourceType: "PUSH", Size: int64(len(data))})
	if err != nil {
		e.t.Fatalf("add OVF file: %v", err)
	}
	endpoint, err := url.Parse(file.UploadEndpoint.URI)
	if err != nil {
		e.t.Fatalf("parse upload endpoint: %v", err)
	}
	upload := soap.DefaultUpload
	upload.ContentLength = int64(len(data))
	if err := rc.Upload(ctx, bytes.NewReader(data), endpoint, &upload); err != nil {
		e.t.Fatalf("upload OVF: %v", err)
	}
	if err := m.CompleteLibraryItemUpdateSession(ctx, session); err != nil {
		e.t.Fatalf("complete update session: %v", err)
	}
}

func TestStartTaskFromLibraryItem(t *testing.T) {
	e := newSimREST(t)
	e.createLibrary()
	d := e.newDriver(newManualClock(), nil)
	cfg := taskConfig(t, "detect", map[string]cty.Value{
		"library_item": cty.StringVal(testLibrary + "/" + testItem),
		"guestinfo":    cty.ListVal([]cty.Value{cty.MapVal(map[string]cty.Value{"camera": cty.StringVal("cam-7")})}),
		"network":      cty.StringVal("DC0_DVPG0"),
	})
	before := countVMs(t, e)
	state := startVM(t, d, cfg)

	vm := readVM(t, e, state.VMID, "name", "runtime.powerState", "config.hardware", "config.extraConfig", "resourcePool")
	if want := "detect-" + cfg.AllocID[:8] + "-" + cfg.AllocID[:8]; vm.Name != want {
		t.Errorf("VM name = %q, want %q", vm.Name, want)
	}
	if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		t.Errorf("power state = %q, want poweredOn", vm.Runtime.PowerState)
	}
	if vm.Config.Hardware.NumCPU != 2 {
		t.Errorf("CPUs = %d, want 2 from 1500 MHz", vm.Config.Hardware.NumCPU)
	}
	if vm.Config.Hardware.MemoryMB != 256 {
		t.Errorf("memory = %d MB, want 256 (the OVF has 64)", vm.Config.Hardware.MemoryMB)
	}
	for key, want := range map[string]string{
		keyTaskID:                  cfg.ID,
		keyAllocID:                 cfg.AllocID,
		keyNodeID:                  cfg.NodeID,
		"guestinfo.camera":         "cam-7",
		"guestinfo.NOMAD_ALLOC_ID": cfg.AllocID,
	} {
		if got, _ := extraValue(vm.Config, key); got != want {
			t.Errorf("extraConfig %s = %q, want %q", key, got, want)
		}
	}
	nics := object.VirtualDeviceList(vm.Config.Hardware.Device).SelectByType((*types.VirtualEthernetCard)(nil))
	if len(nics) != 1 {
		t.Fatalf("VM has %d network cards, want the OVF's 1", len(nics))
	}
	if _, ok := nics[0].GetVirtualDevice().Backing.(*types.VirtualEthernetCardDistributedVirtualPortBackingInfo); !ok {
		t.Errorf("network card backing = %T, want the DC0_DVPG0 port group", nics[0].GetVirtualDevice().Backing)
	}
	if got := attributesOf(t, e, state.VMID)[attrAllocID]; got != cfg.AllocID {
		t.Errorf("custom attribute %s = %q, want %q", attrAllocID, got, cfg.AllocID)
	}
	pool, err := find.NewFinder(e.client.Client).ResourcePool(context.Background(), "/DC0/host/"+testCluster+"/Resources")
	if err != nil {
		t.Fatalf("find cluster pool: %v", err)
	}
	if vm.ResourcePool == nil || *vm.ResourcePool != pool.Reference() {
		t.Errorf("resource pool = %v, want the cluster's %v", vm.ResourcePool, pool.Reference())
	}

	if err := d.DestroyTask(context.Background(), cfg.ID, true); err != nil {
		t.Fatalf("DestroyTask: %v", err)
	}
	if e.vmExists(state.VMID) {
		t.Errorf("VM %q exists after DestroyTask", state.VMID)
	}
	if after := countVMs(t, e); after != before {
		t.Errorf("VM count went from %d to %d, want %d", before, after, before)
	}
}

func TestStartTaskLibraryItemErrors(t *testing.T) {
	e := newSimREST(t)
	e.createLibrary()
	tests := []struct {
		name string
		task map[string]cty.Value
		want string
	}{
		{"missing library", map[string]cty.Value{"library_item": cty.StringVal("nowhere/" + testItem)}, `content library "nowhere" not found`},
		{"missing item", map[string]cty.Value{"library_item": cty.StringVal(testLibrary + "/nothing")}, `item "nothing" not found in content library "apps"`},
		{"not an OVF", map[string]cty.Value{"library_item": cty.StringVal(testLibrary + "/installer")}, `of type "iso": only "ovf" items can be deployed`},
		{"disk_gb without a disk", map[string]cty.Value{"library_item": cty.StringVal(testLibrary + "/" + testItem), "disk_gb": cty.NumberIntVal(20)}, `library item "apps/appliance" has no disk to grow`},
		{"template and item", map[string]cty.Value{"library_item": cty.StringVal(testLibrary + "/" + testItem), "template": cty.StringVal(testTemplate)}, "set either template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.newDriver(newManualClock(), nil)
			before := countVMs(t, e)

			_, _, err := d.StartTask(testContext(t), taskConfig(t, "bad", tt.task))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("StartTask error = %v, want it to contain %q", err, tt.want)
			}
			if isRecoverable(err) {
				t.Errorf("error is recoverable, want permanent: %v", err)
			}
			if after := countVMs(t, e); after != before {
				t.Errorf("VM count went from %d to %d, want no VM left", before, after)
			}
		})
	}
}

func TestLibraryItemWithoutRESTAPI(t *testing.T) {
	e := newSim(t)
	d := e.newDriver(newManualClock(), nil)
	before := countVMs(t, e)

	_, _, err := d.StartTask(testContext(t), taskConfig(t, "bad", map[string]cty.Value{"library_item": cty.StringVal(testLibrary + "/" + testItem)}))
	if err == nil || !strings.Contains(err.Error(), "log in to the vCenter REST API") {
		t.Fatalf("StartTask error = %v, want a REST API login error", err)
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Errorf("error contains the password: %v", err)
	}
	if after := countVMs(t, e); after != before {
		t.Errorf("VM count went from %d to %d, want no VM left", before, after)
	}
}
