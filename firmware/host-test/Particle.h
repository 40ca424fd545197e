// A host stand-in for Device OS's Particle.h: exactly the calls firmware/webhook-demo uses, with
// the signatures Device OS documents, backed by state a host test can drive and inspect. It lets
// `cargo xtask test` compile the demo firmware with g++ and run its logic without Device OS.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

// ---- Test controls: what the "device" sees, and what the firmware did. ----
namespace stub {
inline bool connected = false;
inline uint32_t now_ms = 0;
inline std::vector<std::pair<std::string, std::string>> published;
inline std::vector<std::string> log_lines;
inline std::string subscribed_topic;
inline void (*subscription)(const char *, const char *) = nullptr;
// Each registered cloud variable: its name, and the int the cloud would read when asked.
inline std::vector<std::pair<std::string, const int *>> variables;
inline void (*button)(int, int) = nullptr;
}  // namespace stub

// ---- System configuration macros. ----
#define SYSTEM_THREAD(state) static const bool system_thread_stub_enabled = true
#define PRODUCT_VERSION(version) static const int product_version_stub = (version)

// ---- Logging. ----
enum LogLevel { LOG_LEVEL_ALL = 1, LOG_LEVEL_TRACE = 1, LOG_LEVEL_INFO = 30, LOG_LEVEL_WARN = 40 };

class SerialLogHandler {
public:
    explicit SerialLogHandler(LogLevel level = LOG_LEVEL_INFO) { (void)level; }
};

class Logger {
public:
    void info(const char *format, ...) const __attribute__((format(printf, 2, 3))) {
        char line[2048];
        va_list args;
        va_start(args, format);
        vsnprintf(line, sizeof(line), format, args);
        va_end(args);
        stub::log_lines.emplace_back(line);
    }
};
inline const Logger Log;

// ---- Wiring's String, as far as the firmware uses it. ----
class String {
public:
    String(const char *text = "") : text_(text) {}
    String operator+(const char *more) const { return String((text_ + more).c_str()); }
    String operator+(const String &more) const { return *this + more.c_str(); }
    const char *c_str() const { return text_.c_str(); }

private:
    std::string text_;
};

// ---- Time: a 32-bit millisecond count since boot, which wraps after about 49.7 days. ----
typedef uint32_t system_tick_t;
inline system_tick_t millis() { return stub::now_ms; }

// ---- The cloud. ----
namespace particle {
// Device OS returns a Future<bool> from publish; it converts to bool by waiting for the result.
template <typename T>
class Future {
public:
    explicit Future(T value) : value_(value) {}
    operator T() const { return value_; }

private:
    T value_;
};
}  // namespace particle

typedef void (*EventHandler)(const char *event_name, const char *data);

class CloudClass {
public:
    bool connected() const { return stub::connected; }
    particle::Future<bool> publish(const char *name, const char *data) const {
        stub::published.emplace_back(name, data);
        return particle::Future<bool>(stub::connected);
    }
    bool subscribe(const char *prefix, EventHandler handler) const {
        stub::subscribed_topic = prefix;
        stub::subscription = handler;
        return true;
    }
    // Device OS keeps the variable's address, not its value, and reads it on every request.
    bool variable(const char *name, const int &var) const {
        stub::variables.emplace_back(name, &var);
        return true;
    }
};
inline const CloudClass Particle;

// ---- System events and queries. ----
typedef int system_event_t;
const system_event_t button_click = 0x2000;
typedef void (*SystemEventHandler)(system_event_t event, int param);

class SystemClass {
public:
    String deviceID() const { return String("e00fce680000000000000001"); }
    bool on(system_event_t events, SystemEventHandler handler) const {
        if (events & button_click) {
            stub::button = handler;
        }
        return true;
    }
    int powerSource() const { return 5; }
    float batteryCharge() const { return 87.5f; }
};
inline const SystemClass System;

// ---- JSON output. ----
class JSONBufferWriter {
public:
    JSONBufferWriter(char *buffer, size_t size) : buffer_(buffer), size_(size) {}
    JSONBufferWriter &beginObject() { separate(); put("{"); first_ = true; return *this; }
    JSONBufferWriter &endObject() { put("}"); first_ = false; return *this; }
    JSONBufferWriter &name(const char *key) {
        separate();
        put("\"");
        put(key);
        put("\":");
        after_name_ = true;
        return *this;
    }
    JSONBufferWriter &value(int number) { return scalar("%d", number); }
    JSONBufferWriter &value(unsigned number) { return scalar("%u", number); }
    JSONBufferWriter &value(double number) { return scalar("%g", number); }
    JSONBufferWriter &value(float number) { return value(static_cast<double>(number)); }
    size_t dataSize() const { return used_; }

private:
    template <typename T>
    JSONBufferWriter &scalar(const char *format, T number) {
        char text[32];
        snprintf(text, sizeof(text), format, number);
        separate();
        put(text);
        return *this;
    }
    void separate() {
        if (after_name_) {
            after_name_ = false;
            return;
        }
        if (!first_ && used_ > 0) {
            put(",");
        }
        first_ = false;
    }
    void put(const char *text) {
        for (; *text; ++text) {
            if (used_ < size_) {
                buffer_[used_] = *text;
            }
            ++used_;
        }
    }
    char *buffer_;
    size_t size_;
    size_t used_ = 0;
    bool first_ = true;
    bool after_name_ = false;
};
