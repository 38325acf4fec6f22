from labserver.launch.cli import main

main()
