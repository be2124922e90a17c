# cmk-tool
