metadata(version="0.4.1", description="On-device package installer for network-capable boards")

require("requests")

package("mip", opt=3)
