// kvctl: the RingKV command line. See cli.h for the command tree and shared/ux.md for the
// contract (flags, output formats, exit codes).
#include <glog/logging.h>

#include <cstring>
#include <iostream>

#include "cli.h"

int main(int argc, char** argv) {
  bool debug = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--debug") == 0) debug = true;
    if (std::strcmp(argv[i], "--") == 0) break;
  }
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = debug ? google::GLOG_INFO : google::GLOG_ERROR;
  google::InitGoogleLogging(argv[0]);
  std::ios::sync_with_stdio(false);
  ringkv::kvctl::Streams s{std::cout, std::cerr, std::cin};
  const int code = ringkv::kvctl::RunCli(argc, argv, s);
  std::cout.flush();
  return code;
}
