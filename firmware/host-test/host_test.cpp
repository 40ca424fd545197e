// Host test of the demo firmware's logic, compiled with g++ against the Particle.h stand-in in this
// directory (see tests/firmware.rs). It checks the cloud variable setup() registers, drives
// setup() and loop() through connection, time, the MODE button and a hook response, checks what
// was published and logged, and prints every published payload as `PAYLOAD <data>` for the Rust
// side to parse as JSON.

#include "Particle.h"

#include "../webhook-demo/src/webhook-demo.cpp"

#include <cstdio>
#include <string>

static int failures = 0;

#define CHECK(condition)                                                         \
    do {                                                                         \
        if (!(condition)) {                                                      \
            std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #condition);     \
            ++failures;                                                          \
        }                                                                        \
    } while (0)

static size_t published() { return stub::published.size(); }

static const std::string &last_data() { return stub::published.back().second; }

static void run_loop_at(system_tick_t now_ms) {
    stub::now_ms = now_ms;
    loop();
}

int main() {
    // Device OS starts millis() at 0 at boot; start a little later, as after a connection attempt.
    stub::now_ms = 1000;
    setup();
    CHECK(stub::subscribed_topic == "e00fce680000000000000001/hook-response/WebhookDemo01");
    CHECK(stub::subscription != nullptr);
    CHECK(stub::button != nullptr);
    // One cloud variable, WebhookDemo01, holding the version PRODUCT_VERSION declared.
    CHECK(stub::variables.size() == 1);
    if (!stub::variables.empty()) {
        CHECK(stub::variables[0].first == "WebhookDemo01");
        CHECK(*stub::variables[0].second == product_version_stub);
    }

    // Nothing is published while the cloud is not connected.
    run_loop_at(2000);
    CHECK(published() == 0);

    // The first publish happens as soon as the cloud is connected.
    stub::connected = true;
    run_loop_at(3000);
    CHECK(published() == 1);
    CHECK(stub::published[0].first == "WebhookDemo01");
    CHECK(last_data().find("\"id\":0") != std::string::npos);

    // Then every five minutes, not before.
    run_loop_at(3000 + 5 * 60 * 1000 - 1);
    CHECK(published() == 1);
    run_loop_at(3000 + 5 * 60 * 1000);
    CHECK(published() == 2);
    CHECK(last_data().find("\"id\":1") != std::string::npos);

    // A MODE click publishes at the next loop, once, without moving the interval.
    stub::button(button_click, 1);
    run_loop_at(3000 + 5 * 60 * 1000 + 10);
    CHECK(published() == 3);
    run_loop_at(3000 + 5 * 60 * 1000 + 20);
    CHECK(published() == 3);

    // A click while disconnected waits for the connection.
    stub::connected = false;
    stub::button(button_click, 1);
    run_loop_at(3000 + 5 * 60 * 1000 + 30);
    CHECK(published() == 3);
    stub::connected = true;
    run_loop_at(3000 + 5 * 60 * 1000 + 40);
    CHECK(published() == 4);

    // millis() wraps around after about 49.7 days; the interval still holds across the wrap.
    const system_tick_t before_wrap = 0xFFFFFFFFU - 60U * 1000;
    run_loop_at(before_wrap);
    CHECK(published() == 5);
    run_loop_at(before_wrap + 2U * 60 * 1000);  // wrapped: now 59,999 ms past zero
    CHECK(stub::now_ms < before_wrap);
    CHECK(published() == 5);
    run_loop_at(before_wrap + 5U * 60 * 1000);
    CHECK(published() == 6);

    // A hook response is logged, part by part, and never published back.
    stub::subscription("e00fce680000000000000001/hook-response/WebhookDemo01/0", "{\"ok\":true}");
    CHECK(!stub::log_lines.empty());
    CHECK(stub::log_lines.back() ==
          "hook response e00fce680000000000000001/hook-response/WebhookDemo01/0: {\"ok\":true}");
    CHECK(published() == 6);
    stub::subscription("e00fce680000000000000001/hook-response/WebhookDemo01/1", nullptr);
    CHECK(stub::log_lines.back() ==
          "hook response e00fce680000000000000001/hook-response/WebhookDemo01/1: ");

    // Every payload fits Particle's 1024-byte limit, and each publish was logged.
    for (const auto &event : stub::published) {
        CHECK(event.second.size() <= 1024);
        std::printf("PAYLOAD %s\n", event.second.c_str());
    }
    size_t published_lines = 0;
    for (const auto &line : stub::log_lines) {
        published_lines += line.rfind("published WebhookDemo01 ", 0) == 0 ? 1 : 0;
    }
    CHECK(published_lines == published());

    std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "ok", failures);
    return failures ? 1 : 0;
}
