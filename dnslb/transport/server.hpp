// The DNS workers. A worker (the unit of the "workers" setting) is one UDP thread per listen
// address, each blocking in recvmmsg on its own SO_REUSEPORT UDP socket, and one TCP thread
// with a libuv loop over its SO_REUSEPORT TCP sockets; the kernel spreads packets and
// connections across the workers, and no two threads ever share a socket, a buffer or a lock.
// Every query thread (QueryThread) has its own counters, guard, decision cache (UDP) and
// snapshot epoch. With an XDP interface (`xdp`), UDP to the listen addresses on that interface
// arrives instead on one AF_XDP socket per receive queue, each with its own thread, answered
// by the same respond() as the socket path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dnslb/answer/responder.hpp"
#include "dnslb/answer/snapshot.hpp"
#include "dnslb/config/config.hpp"

namespace dnslb::server {

using TcpLimits = config::TcpSettings;

class QueryThread;
class QueryLog;
class DemandTable;

class Server {
public:
    // `xdp`: the interface of the AF_XDP mode ("" for none).
    Server(SnapshotHolder& snapshots, std::vector<config::ListenAddress> listen, unsigned workers,
           TcpLimits tcp, std::string xdp = "");
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Creates and binds every socket of every worker, and attaches the XDP program and its
    // sockets when there is an XDP interface. Throws std::runtime_error naming the address or
    // the interface and the reason (e.g. "127.0.0.1:53: bind: Address already in use").
    void open();
    void start();
    // Stops accepting, lets pending TCP writes finish, closes everything, joins the threads.
    void stop();
    // Makes idle workers report the current snapshot generation (for reclamation).
    void wake();
    std::vector<ThreadEpoch*> epochs();
    std::vector<const Stats*> stats() const;
    std::vector<ThreadGuard*> guards();
    std::vector<const ThreadGuard*> guards() const;
    // Sampled query log: thread i records into log->ring(i) (thread_count() rings); null
    // means off. Before start().
    void set_query_log(QueryLog* log);
    // Demand recording: thread i counts into tables[i] (thread_count() of them, owned by the
    // caller and outliving the threads); empty means off. Before start().
    void set_demand(const std::vector<DemandTable*>& tables);
    AttackState& attack() noexcept { return attack_; }
    const AttackState& attack() const noexcept { return attack_; }
    size_t worker_count() const noexcept { return worker_count_; }
    // Threads answering queries: per worker, one per listen address (UDP) plus one (TCP); one
    // per queue of the XDP interface. Final after open().
    size_t thread_count() const noexcept { return query_threads_.size(); }

private:
    struct Xdp;
    void open_xdp();
    SnapshotHolder& snapshots_;
    std::vector<config::ListenAddress> listen_;
    TcpLimits tcp_;
    size_t worker_count_;
    AttackState attack_;
    std::string xdp_iface_;
    TcpLimits per_worker_;
    std::unique_ptr<Xdp> xdp_;  // the attached program: detached after the threads are gone
    std::vector<std::unique_ptr<QueryThread>> query_threads_;
    std::vector<std::thread> threads_;
};

}  // namespace dnslb::server
