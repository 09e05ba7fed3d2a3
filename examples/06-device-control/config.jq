# Keep the devices cgroup rule moat spec writes (deny every device, then the
# default /dev nodes are allowed): run.sh drops linux.resources otherwise.
.linux.resources = {"devices": [{"allow": false, "access": "rwm"}]}
