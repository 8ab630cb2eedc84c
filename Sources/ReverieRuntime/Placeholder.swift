enum ReverieRuntimePlaceholder {}
